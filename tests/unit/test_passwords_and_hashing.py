"""Temporary passwords always meet the pool's policy; token hashes verify only their token."""

from __future__ import annotations

from collections import Counter

import pytest

from core.passwords import SYMBOLS, generate_temporary_password
from core.token_hashing import Argon2TokenHasher
from tests.unit.conftest import COGNITO_SYMBOLS, assert_meets_policy

SAMPLES = 2000


def test_every_temporary_password_meets_the_policy() -> None:
    # Given many generated passwords
    passwords = [generate_temporary_password() for _ in range(SAMPLES)]
    # Then each is 20 characters with every character class, and none repeats
    for password in passwords:
        assert len(password) == 20
        assert_meets_policy(password)
    assert len(set(passwords)) == SAMPLES


def test_temporary_passwords_avoid_characters_mail_mangles() -> None:
    # Given the symbols passwords are drawn from
    # Then they are symbols Cognito accepts, without quotes, backslash or whitespace
    assert set(SYMBOLS) <= set(COGNITO_SYMBOLS)
    assert not set(SYMBOLS) & set("\"'\\ \t\n")


def test_temporary_passwords_spread_over_the_whole_alphabet() -> None:
    # Given many generated passwords
    counts = Counter("".join(generate_temporary_password() for _ in range(SAMPLES)))
    # Then every allowed character turns up, and the symbol is not always in one place
    assert len(counts) == 26 + 26 + 10 + len(SYMBOLS)
    first_symbol = Counter(
        next(i for i, c in enumerate(p) if c in SYMBOLS)
        for p in (generate_temporary_password() for _ in range(500))
    )
    assert len(first_symbol) > 5


@pytest.mark.parametrize("length", [12, 64])
def test_a_temporary_password_has_the_asked_length(length: int) -> None:
    password = generate_temporary_password(length)
    assert len(password) == length
    assert_meets_policy(password)


@pytest.mark.parametrize("length", [0, 4, 11])
def test_a_temporary_password_shorter_than_12_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="at least 12 characters"):
        generate_temporary_password(length)


def test_a_token_hash_verifies_its_token_only(hasher: Argon2TokenHasher) -> None:
    # Given the hash of a token
    hashed = hasher.hash("token-one")
    # Then it is an argon2id hash holding no trace of the token
    assert hashed.startswith("$argon2id$")
    assert "token-one" not in hashed
    # And it verifies that token and no other
    assert hasher.verify(hashed, "token-one") is True
    assert hasher.verify(hashed, "token-two") is False
    assert hasher.verify(hashed, "") is False


def test_a_hash_made_under_other_settings_still_verifies() -> None:
    # Given a link hashed before the settings changed (here: more memory, two passes)
    before = Argon2TokenHasher(time_cost=2, memory_cost_kib=64, parallelism=2)
    hashed = before.hash("token-one")
    # Then the service's hasher now checks it by the parameters the hash carries
    now = Argon2TokenHasher()
    assert "$m=64,t=2,p=2$" in hashed
    assert now.verify(hashed, "token-one") is True
    assert now.verify(hashed, "token-two") is False
    assert "$m=1024,t=1,p=1$" in now.hash("token-one")


def test_hashes_of_one_token_differ_and_both_verify(hasher: Argon2TokenHasher) -> None:
    first, second = hasher.hash("same-token"), hasher.hash("same-token")
    assert first != second
    assert hasher.verify(first, "same-token")
    assert hasher.verify(second, "same-token")


def test_a_hash_made_with_other_parameters_still_verifies(hasher: Argon2TokenHasher) -> None:
    # Given a hash made before the cost parameters changed
    older = Argon2TokenHasher(time_cost=2, memory_cost_kib=16, parallelism=2).hash("token")
    # Then it verifies: the parameters travel in the hash
    assert hasher.verify(older, "token") is True


@pytest.mark.parametrize(
    "corrupt",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAA",
        "$2b$12$abcdefghijklmnopqrstuu5u3h0b2a3I2ZGJ/0h9Xv5c8Z5p6r7b2",
    ],
    ids=["empty", "text", "truncated", "short digest", "bcrypt"],
)
def test_a_corrupt_hash_never_verifies(corrupt: str, hasher: Argon2TokenHasher) -> None:
    assert hasher.verify(corrupt, "token") is False


def test_a_tampered_hash_never_verifies(hasher: Argon2TokenHasher) -> None:
    # Given a hash with one character of its digest changed
    hashed = hasher.hash("token")
    swapped = "A" if hashed[-10] != "A" else "B"
    tampered = hashed[:-10] + swapped + hashed[-9:]
    # Then it does not verify the token
    assert hasher.verify(tampered, "token") is False


@pytest.mark.parametrize("secret", [0, 4821, None, b"token", ["token"]])
def test_the_token_hasher_refuses_a_secret_that_is_not_a_string(secret: object) -> None:
    hasher = Argon2TokenHasher(time_cost=1, memory_cost_kib=1024, parallelism=1)
    stored = hasher.hash("0")

    # A token that slipped past validation fails like a wrong one, never with an error
    assert hasher.verify(stored, secret) is False  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hasher.hash(secret)  # type: ignore[arg-type]
