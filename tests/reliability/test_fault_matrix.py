"""Every AWS call of registration and recovery, failing once: no answer leaks, nothing blocks.

For each call site and each fault (AWS throttling past botocore's retries; an unreachable
endpoint), a provider's request meets the failure once. Then:

- the answer is the contract's: the generic 200 for registration and initiateRecovery, whose
  work runs after the answer; for verifyRecovery a 503 problem with Retry-After that says
  nothing of the internals, or the answer a failure the service tolerates gives;
- what is stored does not block the provider: no Cognito user without its registration or the
  reverse (unless the pending link recreates it), and no claim beyond its lease;
- the provider's retry succeeds: the invitation's temporary password signs in, or the recovery
  link resets the account.

The run writes the matrix to docs/RELIABILITY.md when every cell ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from core.config import Settings
from tests.reliability.faults import FAULTS, CallSite
from tests.reliability.harness import State, World, describe_answer
from tests.support.leaks import remember

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "docs" / "RELIABILITY.md"
EMAIL = "quillon.vantreska@example.com"
NEW_EMAIL = "q.vantreska@example.org"
PASSWORD = remember("Harbor-Lantern-5521!")
RATE_LIMIT_TABLE = Settings.model_fields["rate_limit_table"].default
CONFIRMATION = "recovery"  # part of the recovery confirmation's subject

LICENSE_QUERY = CallSite("DynamoDB Query (license lookup)", "Query", "licenseLookup")
PROVIDER_GET = CallSite("DynamoDB GetItem (provider record)", "GetItem", "#PROVIDER#")
EMAIL_OWNER_GET = CallSite("DynamoDB GetItem (email owner)", "GetItem", "EMAIL#")
CLAIM = CallSite("DynamoDB UpdateItem (claim)", "UpdateItem", "SET claimId")
RELEASE = CallSite("DynamoDB UpdateItem (release claim)", "UpdateItem", 'claimedUntil"')
RECORD = CallSite(
    "DynamoDB TransactWriteItems (record_registration)", "TransactWriteItems", "homeJurisdiction"
)
ATTEMPT_PUT = CallSite("DynamoDB PutItem (attempt counter)", "PutItem", RATE_LIMIT_TABLE)
ATTEMPT_QUERY = CallSite("DynamoDB Query (attempt counter)", "Query", RATE_LIMIT_TABLE)
MAIL_RESERVE = CallSite("DynamoDB UpdateItem (take a mail cap slot)", "UpdateItem", "SET heldBy")
MAIL_CONFIRM = CallSite(
    "DynamoDB UpdateItem (keep a sent mail's slot)", "UpdateItem", "SET heldUntil"
)
MAIL_RELEASE = CallSite("DynamoDB UpdateItem (free a mail cap slot)", "UpdateItem", "REMOVE heldBy")
STORE_TOKEN = CallSite(
    "DynamoDB TransactWriteItems (store_recovery_token)", "TransactWriteItems", "recoveryTokenHash"
)
COMPLETE = CallSite(
    "DynamoDB TransactWriteItems (complete_recovery)", "TransactWriteItems", "SET recoveredAt"
)
CLEAR_TOKEN = CallSite(
    "DynamoDB UpdateItem (clear expired token)", "UpdateItem", 'recoveryUsableFrom"'
)
GET_USER = CallSite("Cognito AdminGetUser", "AdminGetUser")
CREATE_USER = CallSite("Cognito AdminCreateUser", "AdminCreateUser")
DELETE_USER = CallSite("Cognito AdminDeleteUser", "AdminDeleteUser")
SET_PASSWORD = CallSite("Cognito AdminSetUserPassword", "AdminSetUserPassword")
INITIATE_AUTH = CallSite("Cognito AdminInitiateAuth", "AdminInitiateAuth")
SEND = CallSite("SES SendEmail", "SendEmail")


# ---------------------------------------------------------------------------------------------
# Flows: how the provider gets to the call, meets the failure, and retries
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """A provider's journey up to one request, the request, and the provider's retry."""

    name: str
    setup: Callable[[World], dict[str, str]]
    act: Callable[[World, dict[str, str]], object]
    retry: Callable[[World, dict[str, str]], str]
    email: str = EMAIL


def nothing(_world: World) -> dict[str, str]:
    return {}


def registered(world: World) -> dict[str, str]:
    """An account whose invitation was never used."""
    assert world.register(EMAIL).status_code == 200
    assert world.state().registered_email == EMAIL
    return {}


def registered_long_ago(world: World) -> dict[str, str]:
    """An account whose invitation lay unused past the re-registration delay."""
    registered(world)
    world.clock.advance(hours=25)
    return {}


def signed_in(world: World) -> dict[str, str]:
    """An account in use: the provider chose a password (MFA is not part of these checks)."""
    registered(world)
    world.set_password(EMAIL, PASSWORD)
    return {}


def link_sent(world: World) -> dict[str, str]:
    """An account in use whose provider asked for a recovery link."""
    signed_in(world)
    assert world.initiate(EMAIL, PASSWORD).status_code == 200
    return world.last_mail(EMAIL, CONFIRMATION).recovery_params


def link_expired(world: World) -> dict[str, str]:
    """A recovery link opened after it expired."""
    params = link_sent(world)
    world.clock.advance(minutes=16)
    return params


def past_any_claim(world: World) -> None:
    """Wait out a claim or mail slot a failed attempt could not release (they lapse by design)."""
    state, now, lease = world.state(), world.clock(), lease_of(world)
    if state.claim_held(now) or state.invitation_slot_left(now, lease):
        world.clock.advance(seconds=world.settings.claim_lease_seconds + 1)


def lease_of(world: World) -> timedelta:
    """How long a claim, or a mail slot whose mail is on its way, holds if never released."""
    return timedelta(seconds=world.settings.claim_lease_seconds)


def invitation_works(world: World, email: str) -> None:
    """The newest invitation to `email` signs in to the first-sign-in challenge."""
    password = world.last_invitation(email).temporary_password
    assert world.password_works(email, password) == "NEW_PASSWORD_REQUIRED"


def assert_account(world: World, email: str, leftovers: tuple[str, ...] = ()) -> None:
    """Registered with `email`, its user waiting for first sign-in, nothing pending or held."""
    state = world.state()
    assert state.registered_email == email
    assert state.users == dict.fromkeys(sorted((email, *leftovers)), "FORCE_CHANGE_PASSWORD")
    assert not state.token_pending
    assert not state.claim_held(world.clock())
    invitation_works(world, email)


def retry_registration(world: World, _ctx: dict[str, str]) -> str:
    past_any_claim(world)
    answer = world.register(EMAIL)
    assert answer.status_code == 200
    assert_account(world, EMAIL)
    return f"{describe_answer(answer)}; invitation signs in"


def retry_new_email(world: World, _ctx: dict[str, str]) -> str:
    past_any_claim(world)
    answer = world.register(NEW_EMAIL)
    assert answer.status_code == 200
    # The user of the replaced email is left over when its deletion failed (see the notes).
    leftovers = tuple(u for u in world.state().users if u != NEW_EMAIL)
    assert leftovers in ((), (EMAIL,))
    assert_account(world, NEW_EMAIL, leftovers)
    return f"{describe_answer(answer)}; invitation signs in" + (
        f"; user {EMAIL} left over" if leftovers else ""
    )


def retry_initiate(world: World, _ctx: dict[str, str]) -> str:
    before = len([m for m in world.sent() if CONFIRMATION in m.subject])
    answer = world.initiate(EMAIL, PASSWORD)
    assert answer.status_code == 200
    after = [m for m in world.sent() if CONFIRMATION in m.subject]
    assert len(after) == before + 1
    reset = world.verify(after[-1].recovery_params)
    assert reset.status_code == 200, reset.text
    assert_account(world, EMAIL)
    return f"{describe_answer(answer)}; link sent, verify 200, invitation signs in"


def retry_verify(world: World, ctx: dict[str, str]) -> str:
    past_any_claim(world)
    answer = world.verify(ctx)
    assert answer.status_code == 200, answer.text
    assert_account(world, EMAIL)
    return f"{describe_answer(answer)}; account reset, invitation signs in"


def retry_expired(world: World, ctx: dict[str, str]) -> str:
    answer = world.verify(ctx)
    assert answer.status_code == 400  # expired: what it answers without any fault
    world.clock.advance(minutes=16)  # out of the verify attempts' window
    assert world.initiate(EMAIL, PASSWORD).status_code == 200
    reset = world.verify(world.last_mail(EMAIL, CONFIRMATION).recovery_params)
    assert reset.status_code == 200, reset.text
    assert_account(world, EMAIL)
    return f"{describe_answer(answer)}; a new link: verify 200, invitation signs in"


REGISTRATION = Flow("registration", nothing, lambda w, _c: w.register(EMAIL), retry_registration)
REREGISTRATION = Flow(
    "re-registration (invitation unused 25 h)",
    registered_long_ago,
    lambda w, _c: w.register(EMAIL),
    retry_registration,
)
NEW_EMAIL_FLOW = Flow(
    "re-registration with a new email",
    registered_long_ago,
    lambda w, _c: w.register(NEW_EMAIL),
    retry_new_email,
    email=NEW_EMAIL,
)
INITIATE = Flow(
    "initiateRecovery", signed_in, lambda w, _c: w.initiate(EMAIL, PASSWORD), retry_initiate
)
VERIFY = Flow("verifyRecovery", link_sent, lambda w, c: w.verify(c), retry_verify)
VERIFY_EXPIRED = Flow(
    "verifyRecovery (expired link)", link_expired, lambda w, c: w.verify(c), retry_expired
)


# The work of these runs after the answer: no fault can change it.
ANSWERED_BEFORE_THE_WORK = (REGISTRATION, REREGISTRATION, NEW_EMAIL_FLOW, INITIATE)


@dataclass(frozen=True)
class Cell:
    """One call site in one flow; `after` fails first when the call only runs after a failure."""

    flow: Flow
    site: CallSite
    after: CallSite | None = None

    @property
    def key(self) -> str:
        suffix = f" after {self.after.name}" if self.after else ""
        return f"{self.flow.name}: {self.site.name}{suffix}"


CELLS = [
    *(
        Cell(REGISTRATION, site)
        for site in (
            LICENSE_QUERY,
            PROVIDER_GET,
            EMAIL_OWNER_GET,
            MAIL_RESERVE,
            CLAIM,
            CREATE_USER,
            SEND,
            RECORD,
            MAIL_CONFIRM,
        )
    ),
    Cell(REGISTRATION, RELEASE, after=SEND),
    Cell(REGISTRATION, MAIL_RELEASE, after=SEND),
    Cell(REGISTRATION, DELETE_USER, after=RECORD),
    Cell(REREGISTRATION, GET_USER),
    Cell(REREGISTRATION, SET_PASSWORD),
    Cell(REREGISTRATION, SEND),
    Cell(NEW_EMAIL_FLOW, DELETE_USER),
    *(
        Cell(INITIATE, site)
        for site in (
            LICENSE_QUERY,
            PROVIDER_GET,
            ATTEMPT_PUT,
            ATTEMPT_QUERY,
            INITIATE_AUTH,
            STORE_TOKEN,
            SEND,
        )
    ),
    *(
        # (a genuine link writes no attempt: only wrong secrets are recorded)
        Cell(VERIFY, site)
        for site in (
            ATTEMPT_QUERY,
            PROVIDER_GET,
            CLAIM,
            DELETE_USER,
            CREATE_USER,
            SEND,
            COMPLETE,
        )
    ),
    Cell(VERIFY, RELEASE, after=CREATE_USER),
    Cell(VERIFY_EXPIRED, CLEAR_TOKEN),
]


# ---------------------------------------------------------------------------------------------
# The matrix
# ---------------------------------------------------------------------------------------------

RESULTS: dict[tuple[str, str], tuple[str, str, str]] = {}


def assert_not_blocking(state: State, world: World, flow: Flow) -> None:
    """What a failure left behind lets the provider finish by retrying."""
    lease = lease_of(world)
    if state.claimed_until is not None:
        assert state.claimed_until <= world.clock() + lease, "a claim beyond its lease"
    if state.invitation_slot_spent(world.clock(), lease):
        # Failed tries spend nothing: only an invitation that went out holds a whole window.
        assert state.registered_email is not None, f"a failed try spent an invitation: {state}"
    if state.registered_email is None:
        # A user left by an interrupted registration is this provider's: the retry reuses it.
        assert set(state.users) <= {flow.email}, state
    elif state.registered_email not in state.users:
        # Only recovery deletes the user, and its pending link recreates it.
        assert state.token_pending, f"registered without a user and no link: {state}"
    else:
        assert set(state.users) <= {state.registered_email, EMAIL, NEW_EMAIL}, state


@pytest.fixture(scope="module", autouse=True)
def _write_matrix() -> object:
    """After the module: docs/RELIABILITY.md, if every cell ran."""
    yield
    if len(RESULTS) == len(CELLS) * len(FAULTS):
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(render_matrix())


def render_matrix() -> str:
    """The matrix as Markdown; deterministic, so an unchanged behaviour gives an unchanged file."""
    lines = [
        "# Reliability: one AWS failure at a time",
        "",
        "<!-- Generated by tests/reliability/test_fault_matrix.py; do not edit by hand. -->",
        "Generated by `tests/reliability/test_fault_matrix.py` (part of `make test`); regenerate "
        "with `.venv/bin/pytest tests/reliability/test_fault_matrix.py`. Each row: a provider's "
        "request meets one failure of one AWS call (raised by a botocore `before-call` hook on "
        "every client the app creates, as after botocore's retries), then the provider retries "
        "(after the claim lease if a claim was left behind). `ThrottlingException` is a "
        "`ClientError`; `EndpointConnectionError` is botocore's unreachable endpoint. "
        "Where a call only runs after another failure, both fail.",
        "",
        "| flow | call that fails | fault | first answer | stored state after | retry |",
        "|---|---|---|---|---|---|",
    ]
    for cell in CELLS:
        for fault in FAULTS:
            first, state, retry = RESULTS[(cell.key, fault)]
            call = cell.site.name + (f" (after {cell.after.name} failed)" if cell.after else "")
            lines.append(f"| {cell.flow.name} | {call} | {fault} | {first} | {state} | {retry} |")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("cell", CELLS, ids=[cell.key for cell in CELLS])
def test_one_failure_leaves_nothing_that_blocks_the_provider(
    world: World, cell: Cell, fault: str
) -> None:
    # Given the provider's state just before the request
    ctx = cell.flow.setup(world)

    # When the request meets the failure (and, where this call runs only after a failure, that
    # one first)
    if cell.after is not None:
        world.faults.arm(cell.after, fault)
    world.faults.arm(cell.site, fault)
    answer = cell.flow.act(world, ctx)

    # Then every armed failure fired, and the answer is one of the contract's, without internals
    assert world.faults.pending == []
    first = describe_answer(answer)
    if cell.flow in ANSWERED_BEFORE_THE_WORK:
        assert first == "200 generic"
    # And nothing left behind blocks the provider
    state = world.state()
    left = state.describe(world.clock(), lease_of(world))
    assert_not_blocking(state, world, cell.flow)
    # And the provider's retry succeeds
    retry = cell.flow.retry(world, ctx)
    RESULTS[(cell.key, fault)] = (first, left, retry)
