"""Load license records from CSV: every row is checked before anything is written."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from core.adapters.licenses import DynamoLicenseStore
from core.adapters.providers import DynamoProviderStore
from core.models import LICENSE_TYPES_BY_COMPACT, License

COLUMNS = [
    "providerId",
    "compact",
    "jurisdiction",
    "licenseType",
    "licenseNumber",
    "givenName",
    "familyName",
    "dateOfBirth",
    "ssnLastFour",
    "licenseStatus",
]
JURISDICTIONS = frozenset(
    [
        "al",
        "ak",
        "az",
        "ar",
        "ca",
        "co",
        "ct",
        "de",
        "dc",
        "fl",
        "ga",
        "hi",
        "id",
        "il",
        "in",
        "ia",
        "ks",
        "ky",
        "la",
        "me",
        "md",
        "ma",
        "mi",
        "mn",
        "ms",
        "mo",
        "mt",
        "ne",
        "nv",
        "nh",
        "nj",
        "nm",
        "ny",
        "nc",
        "nd",
        "oh",
        "ok",
        "or",
        "pa",
        "pr",
        "ri",
        "sc",
        "sd",
        "tn",
        "tx",
        "ut",
        "vt",
        "va",
        "vi",
        "wa",
        "wv",
        "wi",
        "wy",
    ]
)
_SSN4 = re.compile(r"^[0-9]{4}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class SeedError(ValueError):
    """A seed file that cannot be loaded; the message names the line."""


def read_licenses(path: Path) -> list[License]:
    """Parse and check the whole file; raises SeedError naming the first bad line."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise SeedError(f"{path}: line 1: missing columns {', '.join(missing)}")
        return [_parse_row(row, reader.line_num, path) for row in reader]


def load_licenses(
    licenses: Iterable[License], license_store: DynamoLicenseStore, providers: DynamoProviderStore
) -> int:
    """Write the licenses and their provider records; returns how many licenses."""
    count = 0
    for lic in licenses:
        providers.ensure_provider(lic.compact, lic.provider_id, lic.given_name, lic.family_name)
        license_store.put(lic)
        count += 1
    return count


def _parse_row(row: dict[str, str], line: int, path: Path) -> License:
    values = {c: (row.get(c) or "").strip() for c in COLUMNS}

    def fail(reason: str) -> SeedError:
        return SeedError(f"{path}: line {line}: {reason}")

    empty = [c for c, v in values.items() if not v]
    if empty:
        raise fail(f"empty {', '.join(empty)}")
    try:
        provider_id = str(uuid.UUID(values["providerId"]))
    except ValueError:
        raise fail("providerId is not a UUID") from None
    compact, jurisdiction = values["compact"], values["jurisdiction"]
    if compact not in LICENSE_TYPES_BY_COMPACT:
        raise fail(f"unknown compact {compact!r}")
    if jurisdiction not in JURISDICTIONS:
        raise fail(f"unknown jurisdiction {jurisdiction!r}")
    if values["licenseType"] not in LICENSE_TYPES_BY_COMPACT[compact]:
        raise fail(f"license type {values['licenseType']!r} is not in compact {compact}")
    if not _SSN4.match(values["ssnLastFour"]):
        raise fail("ssnLastFour must be exactly 4 digits")
    try:
        if not _DATE.match(values["dateOfBirth"]):
            raise ValueError
        born = date.fromisoformat(values["dateOfBirth"])
    except ValueError:
        raise fail("dateOfBirth must be a real YYYY-MM-DD date") from None
    return License(
        provider_id=provider_id,
        compact=compact,
        jurisdiction=jurisdiction,
        license_type=values["licenseType"],
        license_number=values["licenseNumber"],
        given_name=values["givenName"],
        family_name=values["familyName"],
        date_of_birth=born,
        ssn_last_four=values["ssnLastFour"],
        license_status=values["licenseStatus"],
    )
