"""Validation messages name the field and the rule, never the value; formats are really checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from connexion.json_schema import Draft4RequestValidator
from jsonschema import ValidationError

from handlers.validation import FORMAT_CHECKER, describe
from tests.support.data import ALICE, registration_body

SPEC = yaml.safe_load(Path(__file__).parents[2].joinpath("openapi/openapi.yaml").read_text())


def validator(schema_name: str) -> Draft4RequestValidator:
    """The validator our body validator builds, over one request schema of the spec."""
    schema = {**SPEC["components"]["schemas"][schema_name], "components": SPEC["components"]}
    return Draft4RequestValidator(schema, format_checker=FORMAT_CHECKER)


def first_error(body: dict[str, Any], schema_name: str = "RegistrationRequest") -> str:
    """The message a client gets for this body, as the body validator produces it."""
    with pytest.raises(ValidationError) as raised:
        validator(schema_name).validate(body)
    return describe(raised.value)


def every_message(body: dict[str, Any], schema_name: str = "RegistrationRequest") -> list[str]:
    errors = list(validator(schema_name).iter_errors(body))
    assert errors, "the body was valid"
    messages = [describe(e) for e in errors]
    for error in errors:  # nested errors of oneOf/allOf as well
        messages += [describe(sub) for sub in error.context or []]
    return messages


def alice(**changes: Any) -> dict[str, Any]:
    return {**registration_body(ALICE, "quillon@example.test"), **changes}


def test_a_valid_body_passes() -> None:
    validator("RegistrationRequest").validate(alice())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"partialSocial": "12a4"}, "'partialSocial' does not match the pattern ^[0-9]{4}$"),
        ({"partialSocial": "618345"}, "'partialSocial' does not match the pattern ^[0-9]{4}$"),
        ({"dob": "2023-02-30"}, "'dob' is not a valid date"),
        ({"dob": "1979-23-08"}, "'dob' is not a valid date"),
        ({"dob": 19790823}, "'dob' must be of type string"),
        ({"email": "quillon.example.test"}, "'email' is not a valid email"),
        ({"givenName": ""}, "'givenName' is shorter than 1 characters"),
        ({"familyName": "Vantreska" * 30}, "'familyName' is longer than 200 characters"),
        ({"compact": "qqqq"}, "'compact' must be one of ['aslp', 'octp', 'coun']"),
        (
            {"licenseType": "occupational therapist"},
            "licenseType is not one of the compact's license types",
        ),
        ({"ssn": "483-92-6183"}, "'body' has properties that are not allowed"),
    ],
)
def test_the_message_names_field_and_rule_but_not_the_value(
    changes: dict[str, Any], message: str
) -> None:
    # Given a registration body with one bad value
    body = alice(**changes)
    # When it is validated
    # Then the client's message is exactly this, and no message ever holds the value
    assert first_error(body) == message
    (value,) = changes.values()
    if value != "":  # the empty string is in every message
        assert all(str(value) not in described for described in every_message(body))


def test_a_missing_field_is_named() -> None:
    body = alice()
    del body["dob"]
    assert first_error(body) == "'dob' is a required property"


@pytest.mark.parametrize("dob", ["1979-8-23", "23/08/1979", "1979-W34-4"])
def test_a_date_in_another_form_never_echoes(dob: str) -> None:
    messages = every_message(alice(dob=dob))
    assert "'dob' is not a valid date" in messages or any("pattern" in m for m in messages)
    assert all(dob not in message for message in messages)


def test_recovery_bodies_do_not_echo_the_password_or_token() -> None:
    body = {
        "username": "quillon@example.test",
        "password": "short-pw",
        "compact": "aslp",
        "jurisdiction": "oh",
        "givenName": "Quillon",
        "familyName": "Vantreska",
        "dob": "1979-08-23",
        "partialSocial": "6183",
        "licenseType": "audiologist",
        "recaptchaToken": "x" * 4097,
    }
    messages = every_message(body, "InitiateRecoveryRequest")
    assert "'password' is shorter than 12 characters" in messages
    assert "'recaptchaToken' is longer than 4096 characters" in messages
    assert all("short-pw" not in m and "x" * 20 not in m for m in messages)


@pytest.mark.parametrize("value", ["2024-02-29", "2000-02-29", "1979-08-23", "0001-01-01"])
def test_the_date_format_accepts_real_calendar_dates(value: str) -> None:
    assert FORMAT_CHECKER.conforms(value, "date")


@pytest.mark.parametrize(
    "value",
    [
        "2023-02-30",
        "2023-02-29",
        "1900-02-29",
        "2024-13-01",
        "2024-00-10",
        "20240229",
        "2024-W09-4",
        "2024-02-29T00:00",
        " 2024-02-29",
        "",
        "2024-2-9",
    ],
)
def test_the_date_format_rejects_anything_else(value: str) -> None:
    assert not FORMAT_CHECKER.conforms(value, "date")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("q@example.test", True),
        ("q@localhost", False),
        ("q example@x.test", False),
        ("@example.test", False),
        ("q@example.", False),
        ("first.last+tag@mail.example.test", True),
        ("jöhn@example.test", False),  # SES and Cognito take ASCII addresses only
        ("q@exämple.test", False),
        ("q\x01@example.test", False),
        ("q@example.test\n", False),
        ("q..r@example.test", False),
        ("q@-example.test", False),
    ],
)
def test_the_email_format_wants_an_ascii_address_and_a_dotted_domain(
    value: str, valid: bool
) -> None:
    assert FORMAT_CHECKER.conforms(value, "email") is valid
