"""Request-body validation that checks formats Connexion skips and never echoes input back.

Connexion's stock validator logs and returns jsonschema's messages, which quote the offending
value: a mistyped SSN or date of birth would land in logs and responses. Ours names the field
and the rule only.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators

# ASCII dot-atom only: SES and Cognito refuse anything else, and a refusal after a license
# matched (a 500) where a mismatch gets a 200 would tell the two apart.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL_PART_MAX = 64  # RFC 5321 section 4.5.3.1.1
# An unescaped `$` outside brackets: ECMA-262's end of input, Python's "end or before a final
# newline". Our spec's patterns use none inside brackets.
_DOLLAR = re.compile(r"(?<!\\)\$")

FORMAT_CHECKER = FormatChecker(formats=list(Draft4Validator.FORMAT_CHECKER.checkers))


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    """A real calendar date written as YYYY-MM-DD (fromisoformat alone accepts other forms)."""
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):  # fromisoformat also takes 20240229 and 2024-W09-4
        return False
    date.fromisoformat(value)  # raises ValueError for 2023-02-30 and the like
    return True


@FORMAT_CHECKER.checks("email")
def _is_email(value: object) -> bool:
    """An ASCII address local@domain.tld, the whole string, its local part at most 64 long."""
    if not isinstance(value, str):
        return True
    return bool(_EMAIL.fullmatch(value)) and len(value.rpartition("@")[0]) <= _LOCAL_PART_MAX


def _ecma_pattern(validator: Any, pattern: str, instance: Any, _schema: dict[str, Any]) -> Any:
    """JSON Schema's `pattern` with ECMA-262's `$`: "4821\\n" does not match ^[0-9]{4}$."""
    if validator.is_type(instance, "string") and not re.search(
        _DOLLAR.sub(r"\\Z", pattern), instance
    ):
        yield ValidationError(f"does not match {pattern!r}")  # never quotes the value


RequestValidator = validators.extend(Draft4RequestValidator, {"pattern": _ecma_pattern})


class SafeJSONBodyValidator(JSONRequestBodyValidator):
    """JSON body validation with real date/email checks and messages free of input values."""

    @property
    def _validator(self) -> Any:
        return RequestValidator(self._schema, format_checker=FORMAT_CHECKER)

    async def _parse(self, stream: Any, scope: Any) -> Any:
        try:
            return await super()._parse(stream, scope)
        except UnicodeDecodeError:
            raise BadRequestProblem(detail="The request body is not valid UTF-8") from None
        # json.loads raises RecursionError for ~1,000 nested arrays and ValueError for
        # integers of 4,300+ digits: neither is a JSONDecodeError, which Connexion maps.
        except (RecursionError, ValueError):
            raise BadRequestProblem(detail="The request body is not valid JSON") from None

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None:
            raise BadRequestProblem(detail="Request body must not be empty")
        try:
            return self._validator.validate(body)  # type: ignore[no-any-return]
        except ValidationError as error:
            raise BadRequestProblem(detail=describe(error)) from None


class SafeParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Parameter validation whose messages, like the body's, never quote what was sent."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if error is None or value is None:
            return error  # None, or the missing required parameter, named by the spec
        schema = param.get("schema", param)
        try:
            Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).validate(value)
        except ValidationError as failure:
            return describe(failure, root=param["name"])
        return error

    def validate_query_parameter_list(
        self, request: Any, security_params: list[str] | None = None
    ) -> set[str]:
        """Unknown query parameters are refused without their names (the caller's own text)."""
        if super().validate_query_parameter_list(request, security_params):
            raise BadRequestProblem(
                detail="The request has query parameters the operation does not take"
            )
        return set()


def describe(error: ValidationError, root: str = "body") -> str:
    """A message naming the field and the broken rule, never the submitted value."""
    field = ".".join(str(part) for part in error.absolute_path) or root
    rule, expected = error.validator, error.validator_value
    if rule == "required":  # names a property of the schema, not of the request
        return str(error.message)
    if rule == "additionalProperties":  # never echo the caller's own field names
        return f"'{field}' has properties that are not allowed"
    if rule in ("oneOf", "anyOf"):
        return "licenseType is not one of the compact's license types"
    messages = {
        "type": f"'{field}' must be of type {expected}",
        "enum": f"'{field}' must be one of {expected}",
        "pattern": f"'{field}' does not match the pattern {expected}",
        "format": f"'{field}' is not a valid {expected}",
        "minLength": f"'{field}' is shorter than {expected} characters",
        "maxLength": f"'{field}' is longer than {expected} characters",
    }
    return messages.get(str(rule), f"'{field}' is invalid ({rule})")


VALIDATORS = {
    **VALIDATOR_MAP,
    "parameter": SafeParameterValidator,
    "body": MediaTypeDict({"*/*json": SafeJSONBodyValidator}),
}
