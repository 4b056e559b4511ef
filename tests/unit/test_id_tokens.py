"""IdTokenVerifier: only RS256 ID tokens of one pool and app client, each defect one same 401."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import jwt
import pytest
from jwt import PyJWK

from core.errors import Unauthenticated
from core.id_tokens import REMEMBER_SECONDS, IdentityClaims, IdTokenVerifier
from tests.support.data import ALICE
from tests.support.tokens import CLIENT_ID, OMIT, POOL_ISSUER, SigningKey, TokenMinter

EMAIL = "quillon.vantreska@example.test"
LEEWAY = 30
INVALID = "The token is not valid"


class FakeKeySource:
    """The pool's keys by kid, recording every lookup."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = {key.kid: key.pyjwk for key in keys}
        self.lookups: list[str] = []
        self.forgotten = 0

    def key(self, kid: str) -> PyJWK | None:
        self.lookups.append(kid)
        return self.keys.get(kid)

    def forget(self) -> None:
        self.forgotten += 1


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey("pool-key-1")


@pytest.fixture
def keys(signing_key: SigningKey) -> FakeKeySource:
    return FakeKeySource(signing_key)


@pytest.fixture
def verifier(keys: FakeKeySource) -> IdTokenVerifier:
    return IdTokenVerifier(keys, POOL_ISSUER, CLIENT_ID, leeway_seconds=LEEWAY)


@pytest.fixture
def minter(signing_key: SigningKey) -> TokenMinter:
    return TokenMinter(signing_key)


def alice_token(minter: TokenMinter, **options) -> str:  # noqa: ANN003
    """An ID token of Alice's, with options passed to the minter."""
    return minter.id_token(
        email=EMAIL, compact=ALICE["compact"], provider_id=ALICE["providerId"], **options
    )


def assert_refused(verifier: IdTokenVerifier, token: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    assert refused.value.message == INVALID


def test_a_valid_id_token_yields_its_claims(verifier, minter, keys, signing_key):
    # Given an ID token Alice's pool issued to the app client when she signed in
    signed_in = int(time.time()) - 120

    # When it is verified
    identity = verifier.verify(alice_token(minter, auth_time=signed_in))

    # Then its claims, and the key was looked up by the header's kid
    assert identity == IdentityClaims(
        username=EMAIL,
        email=EMAIL,
        compact=ALICE["compact"],
        provider_id=ALICE["providerId"],
        auth_time=datetime.fromtimestamp(signed_in, UTC),
    )
    assert keys.lookups == [signing_key.kid]


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9", "Bearer x.y.z"],
    ids=["empty", "garbage", "three garbage segments", "a header only", "with scheme"],
)
def test_a_token_that_is_not_a_jwt_is_refused(verifier, keys, token):
    assert_refused(verifier, token)
    assert keys.lookups == []


def test_an_unsigned_alg_none_token_is_refused_before_any_key_lookup(verifier, minter, keys):
    # Given Alice's claims with alg none and no signature
    token = minter.unsigned_token(
        email=EMAIL, compact=ALICE["compact"], provider_id=ALICE["providerId"]
    )

    # Then it is refused, and no key was even looked up
    assert_refused(verifier, token)
    assert keys.lookups == []


def test_an_hs256_token_keyed_with_the_public_key_is_refused(verifier, minter, keys, signing_key):
    # Given Alice's claims HMAC-signed with the pool's public key (algorithm confusion)
    token = minter.hs256_confusion_token(
        email=EMAIL, compact=ALICE["compact"], provider_id=ALICE["providerId"]
    )
    # (a genuine forgery: its MAC verifies under the public key's PEM bytes)
    signing_input, _, signature = token.rpartition(".")
    mac = hmac.new(signing_key.public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert jwt.utils.base64url_decode(signature) == mac

    # Then it is refused, and no key was looked up
    assert_refused(verifier, token)
    assert keys.lookups == []


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(verifier, minter, signing_key):
    # Given a token signed by an attacker's key that claims the pool key's kid
    impostor = SigningKey(signing_key.kid)

    # Then its signature does not verify
    assert_refused(verifier, alice_token(minter, key=impostor))


def test_a_token_with_an_unknown_kid_is_refused(verifier, minter, keys):
    # Given a token naming a kid the pool does not have
    token = alice_token(minter, kid="not-a-pool-key")

    # Then it is refused after one lookup of that kid
    assert_refused(verifier, token)
    assert keys.lookups == ["not-a-pool-key"]


def test_a_token_without_a_kid_is_refused_before_any_key_lookup(verifier, minter, keys):
    assert_refused(verifier, alice_token(minter, kid=OMIT))
    assert keys.lookups == []


def test_a_token_of_another_app_client_is_refused(verifier, minter):
    assert_refused(verifier, alice_token(minter, overrides={"aud": "another-app-client"}))


def test_a_token_of_another_pool_is_refused(verifier, minter):
    other_pool = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OtherPool"

    assert_refused(verifier, alice_token(minter, overrides={"iss": other_pool}))


def test_a_token_expired_beyond_the_leeway_is_refused(verifier, minter):
    # Given a token that expired LEEWAY + 30 seconds ago
    now = int(time.time())
    expired = {"iat": now - 3700, "exp": now - LEEWAY - 30}

    assert_refused(verifier, alice_token(minter, auth_time=now - 3700, overrides=expired))


def test_a_token_expired_within_the_leeway_is_accepted(verifier, minter):
    # Given a token that expired 10 seconds ago, inside the leeway for clock skew
    now = int(time.time())
    just_expired = {"iat": now - 3610, "exp": now - 10}

    identity = verifier.verify(alice_token(minter, auth_time=now - 3610, overrides=just_expired))

    assert identity.username == EMAIL


def test_an_access_token_is_refused(verifier, minter):
    # Given a token of the same pool and client whose token_use is access
    assert_refused(verifier, alice_token(minter, overrides={"token_use": "access"}))


def test_an_access_token_in_cognitos_shape_is_refused(verifier, minter):
    # Given an access token as Cognito shapes it: client_id instead of aud, no email
    shape = {"token_use": "access", "aud": OMIT, "client_id": CLIENT_ID, "email": OMIT}

    assert_refused(verifier, alice_token(minter, overrides=shape))


@pytest.mark.parametrize(
    "claim", ["auth_time", "exp", "iat", "iss", "aud", "token_use"], ids=lambda c: f"no {c}"
)
def test_a_token_missing_a_required_claim_is_refused(verifier, minter, claim):
    assert_refused(verifier, alice_token(minter, overrides={claim: OMIT}))


@pytest.mark.parametrize(
    "claim", ["custom:compact", "custom:providerId", "cognito:username"], ids=lambda c: f"no {c}"
)
def test_a_token_missing_an_identity_claim_is_refused(verifier, minter, claim):
    assert_refused(verifier, alice_token(minter, overrides={claim: OMIT}))


@pytest.mark.parametrize(
    "claim", ["custom:compact", "custom:providerId", "cognito:username"], ids=lambda c: f"empty {c}"
)
def test_a_token_with_an_empty_identity_claim_is_refused(verifier, minter, claim):
    assert_refused(verifier, alice_token(minter, overrides={claim: ""}))


@pytest.mark.parametrize("auth_time", ["yesterday", 1e20, None], ids=["text", "huge", "null"])
def test_a_token_with_an_unreadable_auth_time_is_refused(verifier, minter, auth_time):
    assert_refused(verifier, alice_token(minter, overrides={"auth_time": auth_time}))


class SteppedClock:
    """Wall-clock seconds that only move when a test moves them."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_token_verified_lately_is_taken_without_verifying_it_again(keys, minter):
    # Given a verifier that has verified Alice's token once
    verifier = IdTokenVerifier(keys, POOL_ISSUER, CLIENT_ID, LEEWAY, clock=SteppedClock())
    token = alice_token(minter, auth_time=int(time.time()) - 60)
    first = verifier.verify(token)

    # When the same token comes again, and a different token of hers after it
    again, remembered = verifier.verify(token), verifier.remembered(token)
    verifier.verify(alice_token(minter, auth_time=int(time.time()) - 30))

    # Then the repeat gets the same claims with no key lookup; the new token is verified
    assert again == first == remembered
    assert keys.lookups == [keys_kid(keys)] * 2


def test_a_remembered_token_is_trusted_no_longer_than_its_expiry(keys, minter):
    # Given a token verified when 10 s were left of it (its expiry plus the leeway)
    clock = SteppedClock()
    verifier = IdTokenVerifier(keys, POOL_ISSUER, CLIENT_ID, LEEWAY, clock=clock)
    now = int(clock.now)
    near_expiry = {"iat": now - 3600, "exp": now - LEEWAY + 10}
    token = alice_token(minter, auth_time=now - 3600, overrides=near_expiry)
    verifier.verify(token)

    # When 11 s have passed
    clock.now += 11

    # Then it is no longer remembered
    assert verifier.remembered(token) is None


def test_a_withdrawn_key_stops_a_remembered_token_within_the_remember_time(keys, minter):
    # Given a token verified with a key the pool has since withdrawn from its JWKS
    clock = SteppedClock()
    verifier = IdTokenVerifier(keys, POOL_ISSUER, CLIENT_ID, LEEWAY, clock=clock)
    token = alice_token(minter, auth_time=int(clock.now) - 60)
    verifier.verify(token)
    keys.keys.clear()

    # When the token comes again after the remember time
    clock.now += REMEMBER_SECONDS

    # Then it is verified afresh, and refused
    assert_refused(verifier, token)


def test_a_forgetful_verifier_verifies_a_remembered_token_again_with_fresh_keys(keys, minter):
    # Given a verifier that remembers Alice's token
    verifier = IdTokenVerifier(keys, POOL_ISSUER, CLIENT_ID, LEEWAY, clock=SteppedClock())
    token = alice_token(minter, auth_time=int(time.time()) - 60)
    first = verifier.verify(token)

    # When it forgets what it remembered
    verifier.forget()

    # Then the token is no longer remembered, the key source was told to forget too, and the
    # next use verifies the token again with a key lookup
    assert verifier.remembered(token) is None
    assert keys.forgotten == 1
    assert verifier.verify(token) == first
    assert keys.lookups == [keys_kid(keys)] * 2


def test_a_refused_token_is_not_remembered(verifier, minter):
    # Given a token of another app client, refused once
    token = alice_token(minter, overrides={"aud": "another-client"})
    assert_refused(verifier, token)

    # Then it is refused again, and never remembered
    assert_refused(verifier, token)
    assert verifier.remembered(token) is None


def keys_kid(keys: FakeKeySource) -> str:
    [kid] = keys.keys
    return kid
