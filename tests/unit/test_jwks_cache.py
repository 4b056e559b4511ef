"""JwksCache: one fetch per TTL, an early refetch for an unknown kid, spaced out, and its faults."""

from __future__ import annotations

import pytest
import requests

from core.adapters.jwks import JwksCache
from core.errors import UpstreamUnavailable
from tests.support.tokens import FakeJwksSession, FakeMonotonic, SigningKey, jwks

URL = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1/.well-known/jwks.json"
TTL, MIN_REFETCH = 3600, 30


@pytest.fixture
def first() -> SigningKey:
    return SigningKey("key-2025-a")


@pytest.fixture
def second() -> SigningKey:
    return SigningKey("key-2025-b")


@pytest.fixture
def session(first: SigningKey) -> FakeJwksSession:
    return FakeJwksSession(jwks(first))


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def cache(session: FakeJwksSession, clock: FakeMonotonic) -> JwksCache:
    return JwksCache(URL, TTL, MIN_REFETCH, session=session, monotonic=clock)


def test_the_set_is_fetched_once_and_served_from_the_cache(cache, session, clock, first):
    # Given nothing was fetched yet
    # When the same kid is asked for three times within the TTL
    keys = [cache.key(first.kid)]
    clock.advance(TTL / 2)
    keys.append(cache.key(first.kid))
    clock.advance(TTL / 2 - 1)
    keys.append(cache.key(first.kid))

    # Then one GET of the pool's URL, with a timeout, served the key each time
    assert session.gets == [(URL, 5)]
    assert [key.key_id for key in keys] == [first.kid] * 3
    assert keys[0].key.public_numbers() == first.private_key.public_key().public_numbers()


def test_the_set_is_refetched_once_the_ttl_has_passed(cache, session, clock, first):
    # Given the set was fetched
    cache.key(first.kid)

    # When the TTL passes and the kid is asked for again, then once more
    clock.advance(TTL)
    again = cache.key(first.kid)
    cache.key(first.kid)

    # Then a second GET refreshed it, and no third
    assert len(session.gets) == 2
    assert again is not None
    assert again.key_id == first.kid


def test_a_forgotten_set_is_fetched_again_at_the_next_lookup(cache, session, first):
    # Given the set was fetched and is fresh
    cache.key(first.kid)

    # When the cache forgets it and the kid is asked for again
    cache.forget()
    again = cache.key(first.kid)

    # Then a second GET served it, well within the TTL and the refetch spacing
    assert session.gets == [(URL, 5), (URL, 5)]
    assert again is not None
    assert again.key_id == first.kid


def test_an_unknown_kid_refetches_and_finds_a_rotated_key(cache, session, clock, first, second):
    # Given the set held only the first key when it was fetched
    cache.key(first.kid)
    clock.advance(MIN_REFETCH)
    # And the pool has since rotated: its document now also holds a second key
    session.document = jwks(first, second)

    # When a token names the second key's kid
    found = cache.key(second.kid)

    # Then one early refetch found it, and both keys are now served without fetching
    assert len(session.gets) == 2
    assert found is not None
    assert found.key_id == second.kid
    assert cache.key(first.kid).key_id == first.kid
    assert cache.key(second.kid).key_id == second.kid
    assert len(session.gets) == 2


def test_a_burst_of_unknown_kids_fetches_at_most_once_per_min_refetch(cache, session, clock):
    # Given the set was just fetched
    cache.key("key-2025-a")

    # When tokens with made-up kids arrive during the next MIN_REFETCH seconds
    answers = []
    for i in range(50):
        answers.append(cache.key(f"made-up-{i}"))
        clock.advance(0.5)

    # Then none is found and none caused a fetch
    assert answers == [None] * 50
    assert len(session.gets) == 1

    # And once MIN_REFETCH has passed, the next unknown kid may fetch, once
    clock.advance(MIN_REFETCH - 25)
    assert cache.key("made-up-late") is None
    assert cache.key("made-up-later") is None
    assert len(session.gets) == 2


def test_the_very_first_lookup_fetches_even_for_an_unknown_kid(cache, session):
    # Given nothing was fetched yet
    # When the first token names a kid the pool does not have
    found = cache.key("not-in-the-pool")

    # Then the set was fetched (once) and the kid is not in it
    assert (found, len(session.gets)) == (None, 1)


@pytest.mark.parametrize(
    "error",
    [requests.ConnectionError("connection refused"), requests.Timeout("read timed out")],
    ids=["connection refused", "timeout"],
)
def test_a_network_error_is_upstream_unavailable(cache, session, first, error):
    # Given the JWKS endpoint cannot be reached
    session.error = error

    # When a key is looked up
    with pytest.raises(UpstreamUnavailable):
        cache.key(first.kid)

    # Then nothing was cached as fetched: the next lookup tries again, and succeeds
    assert cache.key(first.kid).key_id == first.kid
    assert len(session.gets) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [(503, {"message": "unavailable"}), (200, "<html>not json</html>"), (200, ["keys"])],
    ids=["http 503", "not json", "not a json object"],
)
def test_an_error_answer_is_upstream_unavailable(clock, first, status, body):
    # Given the JWKS endpoint answers an error status, or a body that is not a JWKS object
    session = FakeJwksSession(body, status=status)
    cache = JwksCache(URL, TTL, MIN_REFETCH, session=session, monotonic=clock)

    # When a key is looked up, then the dependency is reported unavailable
    with pytest.raises(UpstreamUnavailable):
        cache.key(first.kid)


def test_malformed_keys_are_skipped_and_the_good_one_is_kept(clock, first):
    # Given a set whose every key but one is unusable
    good = first.jwk
    malformed = [
        {k: v for k, v in good.items() if k != "kid"},  # no kid
        {**{k: v for k, v in good.items() if k != "kty"}, "kid": "no-kty"},
        {**{k: v for k, v in good.items() if k != "n"}, "kid": "no-modulus"},
        {**good, "kid": "unknown-kty", "kty": "XYZ"},
        {**good, "kid": "unknown-alg", "alg": "RS999"},
        "not-an-object",
    ]
    session = FakeJwksSession({"keys": [*malformed, good]})
    cache = JwksCache(URL, TTL, MIN_REFETCH, session=session, monotonic=clock)

    # When the good key and the broken ones are looked up
    found = cache.key(first.kid)
    broken = [cache.key(kid) for kid in ("no-kty", "no-modulus", "unknown-kty", "unknown-alg")]

    # Then the good key is served, the broken ones are absent, from one fetch
    assert found is not None
    assert found.key_id == first.kid
    assert broken == [None] * 4
    assert len(session.gets) == 1
