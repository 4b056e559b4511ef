"""GET /v1/provider-users/me through the Connexion test client, on moto.

Most tests build the app with a verifier over a key of the test's own (served by a fake JWKS
endpoint), so they can mint any token, good or forged. One test keeps the app's own verifier and
signs in with moto's real Cognito tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from boto3.dynamodb.conditions import Key

from core.adapters.jwks import JwksCache
from core.adapters.key_layout import from_stored, history_prefix, provider_pk, provider_sk
from core.config import Settings
from core.id_tokens import IdTokenVerifier
from handlers.app import create_app
from tests.support.background import draining_client
from tests.support.data import ALICE, BOB, registration_body
from tests.support.dynamodb_wire import Sent, throttled
from tests.support.leaks import remember
from tests.support.mail import read_outbox
from tests.support.tokens import (
    OMIT,
    FakeJwksSession,
    FakeMonotonic,
    SigningKey,
    TokenMinter,
    jwks,
)

ME = "/v1/provider-users/me"
ALICE_EMAIL = "quillon.vantreska@example.com"
ALICE_PASSWORD = remember("Amber-Lighthouse-5530!")
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
ALICE_LICENSES = [
    {
        "jurisdiction": "ky",
        "licenseType": "audiologist",
        "licenseNumber": "KY-AUD-1",
        "licenseStatus": "active",
    },
    {
        "jurisdiction": "oh",
        "licenseType": "audiologist",
        "licenseNumber": "OH-AUD-1",
        "licenseStatus": "active",
    },
]
NO_TOKEN = "No authorization token provided"
BAD_TOKEN = "Provided token is not valid"
# Fields of the provider's records that the profile must never carry, under any name.
FORBIDDEN_FIELD_PARTS = ("dob", "dateofbirth", "ssn", "social", "tokenhash", "claim", "secret")


def unauthorized(detail: str) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
        "message": detail,
    }


@dataclass
class Api:
    """The app under test, the key its verifier trusts, and moto as the test sees it."""

    settings: Settings
    client: Any
    minter: TokenMinter
    endpoint: FakeJwksSession
    monotonic: FakeMonotonic
    cognito: Any
    table: Any
    dynamodb: Sent  # what the app sends to DynamoDB, and answers to give in moto's place

    def me(self, token: str | None = None, scheme: str = "Bearer") -> Any:
        headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
        return self.client.get(ME, headers=headers)

    def alice_token(self, **options: Any) -> str:
        """An ID token of Alice's account, signed by the pool's key unless told otherwise."""
        return self.minter.id_token(
            email=ALICE_EMAIL, compact=ALICE["compact"], provider_id=ALICE["providerId"], **options
        )

    def provider_item(self, person: dict[str, str]) -> dict[str, Any]:
        key = {
            "pk": provider_pk(person["compact"], person["providerId"]),
            "sk": provider_sk(person["compact"]),
        }
        return dict(self.table.get_item(Key=key, ConsistentRead=True)["Item"])

    def stored_events(self, person: dict[str, str]) -> list[dict[str, str]]:
        """The provider's history items as the profile should show them, newest first."""
        condition = Key("pk").eq(provider_pk(person["compact"], person["providerId"])) & Key(
            "sk"
        ).begins_with(history_prefix(person["compact"]))
        items = self.table.query(KeyConditionExpression=condition, ScanIndexForward=False)
        shown = {"ip": "ipAddress", "browser": "browser"}  # where the causing request came from
        return [
            {"type": i["eventType"], "occurredAt": i["occurredAt"]}
            | {shown[name]: i[name] for name in shown if name in i}
            for i in items["Items"]
        ]

    def register(self, person: dict[str, str], email: str) -> None:
        """Given: the provider registered through the API and set a permanent password."""
        answer = self.client.post(
            "/v1/provider-users/registration", json=registration_body(person, email)
        )
        assert (answer.status_code, answer.json()) == (200, {"message": "request processed"})
        self.cognito.admin_set_user_password(
            UserPoolId=self.settings.user_pool_id,
            Username=email,
            Password=ALICE_PASSWORD,
            Permanent=True,
        )

    def recover(self, person: dict[str, str], email: str) -> None:
        """Given: the provider recovered the account through the API, using the emailed link."""
        initiate = {
            "username": email,
            "password": ALICE_PASSWORD,
            "compact": person["compact"],
            "jurisdiction": person["jurisdiction"],
            "givenName": person["givenName"],
            "familyName": person["familyName"],
            "dob": person["dob"],
            "partialSocial": person["partialSocial"],
            "licenseType": person["licenseType"],
            "recaptchaToken": "ok",
        }
        answer = self.client.post("/v1/provider-users/initiateRecovery", json=initiate)
        assert answer.status_code == 200
        link = read_outbox(self.settings.outbox_dir)[-1]
        assert (link.to, link.subject) == (email, "Confirm account recovery")
        verify = {**link.recovery_params, "recaptchaToken": "ok"}
        answer = self.client.post("/v1/provider-users/verifyRecovery", json=verify)
        assert answer.status_code == 200
        assert "recoveredAt" in self.provider_item(person)


@pytest.fixture(scope="module")
def pool_key() -> SigningKey:
    """The pool's signing key (RSA key generation is slow: one per module)."""
    return SigningKey("pool-key-1")


@pytest.fixture
def api(aws: Settings, pool_key: SigningKey) -> Iterator[Api]:
    """The app with a verifier trusting the test's key, served by a fake JWKS endpoint."""
    key = pool_key
    endpoint = FakeJwksSession(jwks(key))
    monotonic = FakeMonotonic()
    signing_keys = JwksCache(
        aws.jwks,
        aws.jwks_cache_seconds,
        aws.jwks_min_refetch_seconds,
        session=endpoint,
        monotonic=monotonic,
    )
    verifier = IdTokenVerifier(
        signing_keys, aws.issuer, aws.user_pool_client_id or "", aws.token_leeway_seconds
    )
    app_session = boto3.session.Session()
    dynamodb = Sent(app_session.events)
    app = create_app(aws, verifier=verifier, session=app_session)
    session = boto3.session.Session(region_name=aws.aws_region)
    with draining_client(app) as client:
        yield Api(
            settings=aws,
            client=client,
            minter=TokenMinter(key, issuer=aws.issuer, audience=aws.user_pool_client_id or ""),
            endpoint=endpoint,
            monotonic=monotonic,
            cognito=session.client("cognito-idp"),
            table=session.resource("dynamodb").Table(aws.provider_table),
            dynamodb=dynamodb,
        )


@pytest.fixture
def alice(api: Api) -> Api:
    """Alice registered through the API and chose a permanent password."""
    api.register(ALICE, ALICE_EMAIL)
    return api


def assert_unauthorized(answer: Any, detail: str) -> None:
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == unauthorized(detail)


def field_names(value: Any) -> Iterator[str]:
    """Every object key in a JSON document, at any depth."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield name
            yield from field_names(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from field_names(inner)


def string_values(value: Any) -> Iterator[str]:
    """Every string value in a JSON document, at any depth."""
    if isinstance(value, dict):
        for inner in value.values():
            yield from string_values(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from string_values(inner)
    elif isinstance(value, str):
        yield value


# ---------------------------------------------------------------------------------------------
# The profile
# ---------------------------------------------------------------------------------------------


def test_alice_sees_her_profile_licenses_and_registration(alice: Api) -> None:
    # Given Alice registered, and signed in a minute ago
    token = alice.alice_token(auth_time=int(time.time()) - 60)

    # When she asks for her profile with her ID token
    answer = alice.me(token)

    # Then her profile, both licenses and her registration, and nothing secret
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    [registered] = alice.stored_events(ALICE)
    assert registered["type"] == "registered"
    assert answer.json() == {
        "providerId": ALICE["providerId"],
        "compact": "aslp",
        "givenName": ALICE["givenName"],
        "familyName": ALICE["familyName"],
        "email": ALICE_EMAIL,
        "homeJurisdiction": "oh",
        "licenses": ALICE_LICENSES,
        # where her registration came from (the test client, which names no known browser)
        "events": [
            {
                "type": "registered",
                "occurredAt": registered["occurredAt"],
                "ipAddress": "testclient",
                "browser": "Unknown browser",
            }
        ],
    }
    assert abs(from_stored(registered["occurredAt"]).timestamp() - time.time()) < 60
    names = [name.lower() for name in field_names(answer.json())]
    assert not [name for name in names if any(part in name for part in FORBIDDEN_FIELD_PARTS)]
    assert not {ALICE["dob"], ALICE["partialSocial"]} & set(string_values(answer.json()))
    # And the response is neither cached nor sniffed nor referred
    assert {name: answer.headers[name] for name in SECURITY_HEADERS} == SECURITY_HEADERS
    # And the pool's keys were fetched once, from the pool's JWKS URL
    assert alice.endpoint.gets == [(alice.settings.jwks, 5)]


def test_the_profile_is_one_dynamodb_round_trip(alice: Api) -> None:
    # Given Alice registered and signed in
    token = alice.alice_token()
    alice.dynamodb.targets.clear()

    # When she asks for her profile
    answer = alice.me(token)

    # Then the whole profile came from one Query on her partition
    assert answer.status_code == 200
    assert answer.json()["licenses"] == ALICE_LICENSES
    assert [event["type"] for event in answer.json()["events"]] == ["registered"]
    assert alice.dynamodb.targets == ["DynamoDB_20120810.Query"]


def test_a_profile_read_throttled_past_its_retry_is_503(
    alice: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Alice signed in, and DynamoDB throttles the profile's Query and its retry
    token = alice.alice_token()
    monkeypatch.setattr("core.adapters.dynamo_json.time.sleep", lambda _seconds: None)
    alice.dynamodb.targets.clear()
    alice.dynamodb.answers += [throttled(), throttled()]

    # When she asks for her profile
    answer = alice.me(token)

    # Then she is told to come back, with nothing about DynamoDB in the answer
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "5"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "A dependency is temporarily unavailable; please retry",
        "message": "A dependency is temporarily unavailable; please retry",
    }
    assert alice.dynamodb.targets == ["DynamoDB_20120810.Query"] * 2
    # And the next read, DynamoDB answering again, is her profile
    assert alice.me(token).status_code == 200


def test_the_username_is_compared_without_case(alice: Api) -> None:
    # Given a token whose cognito:username has the registered email in another case
    token = alice.alice_token(overrides={"cognito:username": ALICE_EMAIL.upper()})

    # Then it is Alice's account all the same
    answer = alice.me(token)
    assert (answer.status_code, answer.json()["providerId"]) == (200, ALICE["providerId"])


# ---------------------------------------------------------------------------------------------
# Tokens that are refused
# ---------------------------------------------------------------------------------------------


def test_no_authorization_header_is_401(alice: Api) -> None:
    answer = alice.me()

    assert_unauthorized(answer, NO_TOKEN)
    assert {name: answer.headers[name] for name in SECURITY_HEADERS} == SECURITY_HEADERS


@pytest.mark.parametrize(
    ("token", "detail"),
    [("garbage", BAD_TOKEN), ("a.b.c", BAD_TOKEN), ("", "Invalid authorization header")],
    ids=["garbage", "three garbage segments", "empty"],
)
def test_a_bearer_that_is_not_a_jwt_is_401(alice: Api, token: str, detail: str) -> None:
    assert_unauthorized(alice.me(token), detail)


def test_the_bearer_scheme_is_case_insensitive(alice: Api) -> None:
    answer = alice.me(alice.alice_token(), scheme="bearer")

    assert (answer.status_code, answer.json()["providerId"]) == (200, ALICE["providerId"])


@pytest.mark.parametrize("valid_first", [True, False], ids=["valid first", "valid second"])
def test_two_authorization_headers_are_401_whichever_comes_first(
    alice: Api, valid_first: bool
) -> None:
    # Given Alice's valid bearer beside a second Authorization header
    headers = [("Authorization", f"Bearer {alice.alice_token()}"), ("Authorization", "Bearer junk")]

    # When both are sent, in either order
    answer = alice.client.get(
        "/v1/provider-users/me", headers=headers if valid_first else headers[::-1]
    )

    # Then neither is picked: the request is refused
    assert_unauthorized(answer, "Send one Authorization header")


def test_a_valid_token_under_another_scheme_is_401(alice: Api) -> None:
    assert_unauthorized(alice.me(alice.alice_token(), scheme="Basic"), NO_TOKEN)


def forged(api: Api, kind: str) -> str:
    """A token of Alice's that must be refused, of the given kind."""
    identity = {
        "email": ALICE_EMAIL,
        "compact": ALICE["compact"],
        "provider_id": ALICE["providerId"],
    }
    now = int(time.time())
    return {
        "alg none": lambda: api.minter.unsigned_token(**identity),
        "hs256 keyed with the public key": lambda: api.minter.hs256_confusion_token(**identity),
        "another key with the pool's kid": lambda: api.alice_token(
            key=SigningKey(api.minter.key.kid)
        ),
        "another app client": lambda: api.alice_token(overrides={"aud": "another-app-client"}),
        "another pool": lambda: api.alice_token(
            overrides={"iss": f"{api.settings.issuer.rsplit('/', 1)[0]}/us-east-1_OtherPool"}
        ),
        "expired": lambda: api.alice_token(
            auth_time=now - 7200, overrides={"iat": now - 7200, "exp": now - 3600}
        ),
        "access token": lambda: api.alice_token(overrides={"token_use": "access"}),
        "no auth_time": lambda: api.alice_token(overrides={"auth_time": OMIT}),
        "no custom:providerId": lambda: api.alice_token(overrides={"custom:providerId": OMIT}),
    }[kind]()


@pytest.mark.parametrize(
    "kind",
    [
        "alg none",
        "hs256 keyed with the public key",
        "another key with the pool's kid",
        "another app client",
        "another pool",
        "expired",
        "access token",
        "no auth_time",
        "no custom:providerId",
    ],
)
def test_a_forged_or_unfit_token_is_401(alice: Api, kind: str) -> None:
    # Given Alice is registered, and a token that names her account but must not be trusted
    token = forged(alice, kind)

    # When it is presented, then 401, the same answer for every defect
    assert_unauthorized(alice.me(token), BAD_TOKEN)


def test_a_token_of_a_user_left_with_another_email_is_401(alice: Api) -> None:
    # Given a genuine token of the pool naming Alice's record, but for a different username
    token = alice.alice_token(overrides={"cognito:username": "old.address@example.com"})

    # Then that user is not Alice's account
    assert_unauthorized(alice.me(token), "The token is not valid")


def test_a_token_for_a_provider_who_never_registered_is_401(alice: Api) -> None:
    # Given a token naming Bob's record, who has no account
    token = alice.minter.id_token(
        email="zephrine@example.com", compact=BOB["compact"], provider_id=BOB["providerId"]
    )

    assert_unauthorized(alice.me(token), "The token is not valid")


# ---------------------------------------------------------------------------------------------
# Recovery cuts off every earlier session
# ---------------------------------------------------------------------------------------------


def test_recovery_ends_every_session_that_began_before_it(alice: Api) -> None:
    # Given Alice's lost phone holds a session that began a minute ago, and it works
    lost_phone = alice.alice_token(auth_time=int(time.time()) - 60)
    assert alice.me(lost_phone).status_code == 200

    # When Alice recovers her account through the API
    alice.recover(ALICE, ALICE_EMAIL)
    recovered_at = from_stored(alice.provider_item(ALICE)["recoveredAt"])
    recovered_second = int(recovered_at.timestamp())

    # Then the lost phone's token is refused from that moment on
    assert_unauthorized(alice.me(lost_phone), "The session ended when the account was recovered")
    # And so is any token whose sign-in was a second before the recovery
    a_second_before = alice.alice_token(auth_time=recovered_second - 1)
    assert_unauthorized(
        alice.me(a_second_before), "The session ended when the account was recovered"
    )
    # But a sign-in after the recovery sees the profile, recovery events first
    after = alice.me(alice.alice_token(auth_time=recovered_second + 1))
    assert after.status_code == 200
    events = alice.stored_events(ALICE)
    assert [e["type"] for e in events] == ["recovery_completed", "recovery_requested", "registered"]
    assert after.json() == {
        "providerId": ALICE["providerId"],
        "compact": "aslp",
        "givenName": ALICE["givenName"],
        "familyName": ALICE["familyName"],
        "email": ALICE_EMAIL,
        "homeJurisdiction": "oh",
        "licenses": ALICE_LICENSES,
        "events": events,
    }
    assert events[0]["occurredAt"] == alice.provider_item(ALICE)["recoveredAt"]
    # And so is a sign-in within the recovery's own second (unless the recovery fell on a whole
    # second): auth_time has whole seconds, so it may have come before the recovery
    same_second = alice.me(alice.alice_token(auth_time=recovered_second))
    if recovered_at.microsecond:
        assert_unauthorized(same_second, "The session ended when the account was recovered")
    else:
        assert same_second.status_code == 200


# ---------------------------------------------------------------------------------------------
# A provider record that is gone
# ---------------------------------------------------------------------------------------------


def test_a_deleted_provider_record_is_404(alice: Api) -> None:
    # Given Alice's provider record was deleted after she signed in
    token = alice.alice_token()
    alice.table.delete_item(
        Key={"pk": provider_pk(ALICE["compact"], ALICE["providerId"]), "sk": provider_sk("aslp")}
    )

    # When she asks for her profile
    answer = alice.me(token)

    # Then 404, as a problem
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No provider record for this account",
        "message": "No provider record for this account",
    }


# ---------------------------------------------------------------------------------------------
# Key rotation
# ---------------------------------------------------------------------------------------------


def test_a_rotated_key_is_trusted_once_the_pool_publishes_it(alice: Api) -> None:
    # Given Alice's token signed by the pool's current key works (one JWKS fetch)
    assert alice.me(alice.alice_token()).status_code == 200
    new_key = SigningKey("pool-key-2")
    by_new_key = alice.alice_token(key=new_key)

    # When a token signed by a new key arrives before the pool publishes that key
    early = alice.me(by_new_key)

    # Then it is refused, without another fetch so soon after the last
    assert_unauthorized(early, BAD_TOKEN)
    assert len(alice.endpoint.gets) == 1

    # When the pool publishes the new key alongside the old, and the same token comes back later
    alice.endpoint.document = jwks(alice.minter.key, new_key)
    alice.monotonic.advance(alice.settings.jwks_min_refetch_seconds)
    late = alice.me(by_new_key)

    # Then one refetch found the new key and the token is accepted
    assert (late.status_code, late.json()["providerId"]) == (200, ALICE["providerId"])
    assert len(alice.endpoint.gets) == 2
    # And tokens of both keys keep working from the cache
    assert alice.me(alice.alice_token()).status_code == 200
    assert alice.me(by_new_key).status_code == 200
    assert len(alice.endpoint.gets) == 2


def test_an_unreachable_jwks_endpoint_is_503(alice: Api) -> None:
    # Given the pool's JWKS endpoint cannot be reached
    alice.endpoint.error = requests.ConnectionError("connection refused")

    # When Alice presents her token
    answer = alice.me(alice.alice_token())

    # Then the dependency is reported, not the token
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["title"] == "Service Unavailable"


# ---------------------------------------------------------------------------------------------
# moto's real Cognito tokens, with the app's own verifier
# ---------------------------------------------------------------------------------------------


def test_a_real_id_token_from_the_pool_opens_the_profile(client: Any, aws: Settings) -> None:
    # Given Alice registered through the API and set a permanent password
    answer = client.post(
        "/v1/provider-users/registration", json=registration_body(ALICE, ALICE_EMAIL)
    )
    assert answer.status_code == 200
    cognito = boto3.session.Session(region_name=aws.aws_region).client("cognito-idp")
    cognito.admin_set_user_password(
        UserPoolId=aws.user_pool_id, Username=ALICE_EMAIL, Password=ALICE_PASSWORD, Permanent=True
    )
    # And she signed in with the pool, which issued her an ID token
    signed_in = cognito.admin_initiate_auth(
        UserPoolId=aws.user_pool_id,
        ClientId=aws.user_pool_client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": ALICE_EMAIL, "PASSWORD": ALICE_PASSWORD},
    )
    tokens = signed_in["AuthenticationResult"]
    id_token = remember(tokens["IdToken"])
    remember(tokens["AccessToken"])

    # When she asks for her profile with it (keys fetched from the pool's real JWKS URL)
    answer = client.get(ME, headers={"Authorization": f"Bearer {id_token}"})

    # Then her profile
    assert answer.status_code == 200
    body = answer.json()
    assert (body["providerId"], body["email"], body["licenses"]) == (
        ALICE["providerId"],
        ALICE_EMAIL,
        ALICE_LICENSES,
    )
    assert [event["type"] for event in body["events"]] == ["registered"]
    # And her access token from the same sign-in is not accepted in its place
    refused = client.get(ME, headers={"Authorization": f"Bearer {tokens['AccessToken']}"})
    assert_unauthorized(refused, BAD_TOKEN)


def test_every_401_names_the_bearer_scheme(client):
    # Given no token, or a token that is not one
    for headers in ({}, {"Authorization": "Bearer garbage"}):
        # When /me is called
        answer = client.get("/v1/provider-users/me", headers=headers)

        # Then the 401 tells the client which scheme to use
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == 'Bearer realm="provider-accounts"'
