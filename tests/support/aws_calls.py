"""Which IAM actions, on which resources, the service's AWS calls need: recorded with hooks.

Every botocore client created while the recorder runs gets a `before-parameter-build` handler,
so clients made later inside the service (lazily, per thread) are recorded too, while clients a
test made before are not. The profile's direct DynamoDB calls (core/adapters/dynamo_json.py)
build no botocore parameters: they are recorded from the signed request itself, at the same
client's `before-send` hook (a call botocore made is recorded twice, to the same effect).
Calls become IAM terms: TransactWriteItems needs the item actions it contains (there is no IAM
action of its own), a Query on an index needs the index's resource.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
import pytest

from tests.support.dynamodb_wire import target_of

TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class AwsCallRecorder:
    """(IAM action, resource name) of every recorded call; unknown resources show as '?…'."""

    def __init__(self, names: dict[str, str]) -> None:
        # physical name (table name, pool id, index name, …) → core.permissions resource name
        self._names = names
        self.grants_needed: set[tuple[str, str]] = set()

    def _resource(self, physical: str) -> str:
        return self._names.get(physical, f"?{physical}")

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """The before-parameter-build handler."""
        prefix = model.service_model.signing_name
        operation = model.name
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                for kind, request in item.items():
                    action = f"{prefix}:{TRANSACT_ACTIONS[kind]}"
                    self.grants_needed.add((action, self._resource(request["TableName"])))
            return
        action = f"{prefix}:{operation}"
        for physical in self._physical_resources(params):
            self.grants_needed.add((action, self._resource(physical)))

    def record_sent(self, request: Any, **_: Any) -> None:
        """The before-send handler: a DynamoDB JSON request, by its target and body."""
        target = target_of(request)
        if target is None:
            return
        prefix, _, operation = target.partition(".")
        if not prefix.startswith("DynamoDB_") or operation == "TransactWriteItems":
            return  # transactions are recorded by their items, from botocore's parameters
        for physical in self._physical_resources(json.loads(request.body)):
            self.grants_needed.add((f"dynamodb:{operation}", self._resource(physical)))

    @staticmethod
    def _physical_resources(params: dict[str, Any]) -> list[str]:
        if "IndexName" in params:
            return [params["IndexName"]]
        keys = ("TableName", "UserPoolId", "ConfigurationSetName")
        found = [params[key] for key in keys if key in params]
        if "Source" in params:  # SES authorises the sender's identity: its domain here
            found.append(params["Source"].rsplit("@", 1)[-1].rstrip(">"))
        return found or ["*"]

    @property
    def actions(self) -> set[str]:
        """The recorded actions, without resources."""
        return {action for action, _ in self.grants_needed}


@contextmanager
def recording_aws_calls(
    monkeypatch: pytest.MonkeyPatch, names: dict[str, str]
) -> Iterator[AwsCallRecorder]:
    """Record the calls of every botocore client created inside the block."""
    recorder = AwsCallRecorder(names)
    create_client = botocore.client.ClientCreator.create_client

    def create_recorded_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build", recorder.record)
        client.meta.events.register("before-send.dynamodb", recorder.record_sent)
        return client

    with monkeypatch.context() as patch:
        patch.setattr(botocore.client.ClientCreator, "create_client", create_recorded_client)
        yield recorder
