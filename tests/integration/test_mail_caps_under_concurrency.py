"""Mail caps under a burst: however many requests run at once, one mail per cap wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import boto3
import pytest
from prometheus_client import REGISTRY

from core import emails
from core.config import Settings
from core.models import LicenseFacts, RequestOrigin
from core.services.registration import RegistrationRequest, register_provider
from core.wiring import Dependencies, build_services
from tests.support.data import ALICE
from tests.support.mail import read_outbox

RACERS = 20
ATTACKER = "inbox-of-the-attacker@example.test"
NOTICE_SUBJECT = "Someone tried to register your provider account"
INVITATION_SUBJECT = "Your provider account"


@pytest.fixture
def deps(aws: Settings) -> Dependencies:
    """The real services on moto, whose DynamoDB writes are atomic as DynamoDB's are.

    tests/conftest.py makes them so for the whole test process (core/local/moto_dynamodb.py).
    """
    return build_services(aws)


def suppressed(kind: str) -> float:
    labels = {"kind": kind}
    return REGISTRY.get_sample_value("provider_accounts_mail_suppressed_total", labels) or 0.0


def all_at_once(work: Callable[[], None]) -> None:
    """Run `work` in RACERS threads released together; re-raise the first failure."""
    start = threading.Barrier(RACERS)

    def racer() -> None:
        start.wait()
        work()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        for future in [pool.submit(racer) for _ in range(RACERS)]:
            future.result()


def mail_items(settings: Settings) -> list[dict[str, object]]:
    """Every item the mail caps keep in the rate-limit table."""
    table = boto3.resource("dynamodb", region_name=settings.aws_region).Table(
        settings.rate_limit_table
    )
    return [item for item in table.scan()["Items"] if str(item["pk"]).startswith("mail#")]


def test_one_notice_when_twenty_arrive_at_once(aws: Settings, deps: Dependencies) -> None:
    # Given twenty requests that each want to tell the same address of an attempt
    notice = emails.registration_attempt_notice(ATTACKER, deps.registration.policy.links)
    caps, mailer = deps.registration.caps, deps.registration.mailer
    before = suppressed("notice")

    # When they all send at the same moment
    all_at_once(lambda: caps.send_notice(mailer, notice))

    # Then exactly one notice went out; the nineteen others were suppressed and counted
    assert [(m.to, m.subject) for m in read_outbox(aws.outbox_dir)] == [(ATTACKER, NOTICE_SUBJECT)]
    assert suppressed("notice") == before + RACERS - 1
    # And the rate-limit table holds one held reservation for that address, and nothing else
    [item] = mail_items(aws)
    assert str(item["pk"]).startswith("mail#notice#")
    assert item["heldBy"]


def test_one_invitation_when_twenty_registrations_arrive_at_once(
    aws: Settings, deps: Dependencies
) -> None:
    # Given twenty registrations of Alice's license to the same address, by someone who knows
    # her facts (an unused invitation may be renewed at any time)
    facts = LicenseFacts(
        compact=ALICE["compact"],
        jurisdiction=ALICE["jurisdiction"],
        given_name=ALICE["givenName"],
        family_name=ALICE["familyName"],
        date_of_birth=date.fromisoformat(ALICE["dob"]),
        ssn_last_four=ALICE["partialSocial"],
        license_type=ALICE["licenseType"],
    )
    request = RegistrationRequest(facts, ATTACKER, "ok", RequestOrigin("198.51.100.7"))

    # When they all run at the same moment
    all_at_once(lambda: register_provider(request, deps.registration))

    # Then exactly one invitation went out, and its password is the one Cognito holds
    [invitation] = read_outbox(aws.outbox_dir)
    assert (invitation.to, invitation.subject) == (ATTACKER, INVITATION_SUBJECT)
    assert deps.registration.identity.password_is_valid(ATTACKER, invitation.temporary_password)
    # And one invitation is counted against the cap of that license and address
    [item] = mail_items(aws)
    assert str(item["pk"]).startswith(f"mail#invitation#{ALICE['compact']}#{ALICE['providerId']}#")
    assert item["heldBy"]
