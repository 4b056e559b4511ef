"""What the app reads from the spec itself: `x-` extensions per operation, body operations."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser where PyYAML was built with it: the same document, about 8x faster.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FLOOR = "x-response-floor-seconds"
IP_LIMIT = "x-rate-limit-per-ip"  # names the setting that holds the operation's per-IP limit


def load_spec(path: Path) -> dict[str, Any]:
    """The OpenAPI document at `path`, parsed once per process; every call gets its own copy.

    Each app of a process (each test's, each worker's) reads the same file: parsing takes
    ~16 ms with libyaml (~130 ms without), a copy ~5 ms, so apps pay the copy alone.
    """
    return copy.deepcopy(_parsed(path))


@functools.cache
def _parsed(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    return document


def by_operation(spec: dict[str, Any], extension: str, package: str = "") -> dict[str, Any]:
    """operationId → the extension's value, for every operation that declares it.

    Routing names an operation as its resolver does: RelativeResolver("handlers") turns
    "registration.register_provider" into "handlers.registration.register_provider", so pass
    the same package to key the values the way they will be looked up.
    """
    prefix = f"{package}." if package else ""
    found: dict[str, Any] = {}
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if isinstance(operation, dict) and extension in operation:
                found[prefix + operation["operationId"]] = operation[extension]
    return found


def floors_from_spec(spec: dict[str, Any], package: str = "") -> dict[str, float]:
    """operationId → its response-time floor in seconds."""
    return {name: float(value) for name, value in by_operation(spec, FLOOR, package).items()}


def body_operations(spec: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """(METHOD, full path) of every operation that takes a request body."""
    base = spec.get("servers", [{}])[0].get("url", "").rstrip("/")
    return frozenset(
        (method.upper(), base + path)
        for path, path_item in spec.get("paths", {}).items()
        for method, operation in path_item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    )


def operation_methods(spec: dict[str, Any]) -> list[str]:
    """The HTTP methods of the spec's operations, sorted: what a browser may be allowed."""
    return sorted(
        {
            method.upper()
            for path_item in spec.get("paths", {}).values()
            for method, operation in path_item.items()
            if isinstance(operation, dict) and "operationId" in operation
        }
    )
