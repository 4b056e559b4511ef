"""Seed files: every row is checked, and a bad one is reported by its line number."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.local import seed
from core.local.seed import COLUMNS, SeedError, read_licenses
from core.models import License
from tests.support.data import LICENSES_CSV

HEADER = ",".join(COLUMNS)
ROW = (
    "1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f,aslp,oh,audiologist,OH-AUD-1,Quillon,Vantreska,"
    "1979-08-23,6183,active"
)
BOB_ROW = (
    "2d8b4f6a-9c1e-4a3b-b5d7-4e6f8a0b2c4d,octp,co,occupational therapist,CO-OT-2,Zephrine,"
    "Oduya-Marsh,1991-02-11,9047,active"
)
QUILLON = License(
    provider_id="1c9a3e5f-7b2d-4f6a-8c1e-3d5b7a9c1e2f",
    compact="aslp",
    jurisdiction="oh",
    license_type="audiologist",
    license_number="OH-AUD-1",
    given_name="Quillon",
    family_name="Vantreska",
    date_of_birth=date(1979, 8, 23),
    ssn_last_four="6183",
    license_status="active",
)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "licenses.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_good_file_is_read_whole(tmp_path: Path) -> None:
    # Given a file with two rows, one with spaces around its values
    padded = ",".join(f" {value} " for value in ROW.split(","))
    path = write(tmp_path, HEADER, padded, BOB_ROW)
    # When it is read
    licenses = read_licenses(path)
    # Then both licenses are parsed, trimmed
    assert licenses[0] == QUILLON
    assert [(lic.compact, lic.license_type) for lic in licenses] == [
        ("aslp", "audiologist"),
        ("octp", "occupational therapist"),
    ]


@pytest.mark.parametrize("path", [LICENSES_CSV, Path(seed.__file__).with_name("demo_licenses.csv")])
def test_the_shipped_seed_files_are_valid(path: Path) -> None:
    assert read_licenses(path)


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    # Given a file with an extra column before and after the known ones
    path = write(tmp_path, f"note,{HEADER},region", f"hello,{ROW},midwest")
    # Then the known columns are read as usual
    assert read_licenses(path) == [QUILLON]


def test_columns_may_come_in_any_order(tmp_path: Path) -> None:
    header, row = HEADER.split(","), ROW.split(",")
    path = write(tmp_path, ",".join(reversed(header)), ",".join(reversed(row)))
    assert read_licenses(path) == [QUILLON]


def test_missing_columns_are_named(tmp_path: Path) -> None:
    # Given a header without ssnLastFour and licenseStatus
    header = [c for c in COLUMNS if c not in ("ssnLastFour", "licenseStatus")]
    path = write(tmp_path, ",".join(header), ROW.rsplit(",", 2)[0])
    # Then reading fails on line 1, naming both
    with pytest.raises(SeedError) as raised:
        read_licenses(path)
    assert str(raised.value) == f"{path}: line 1: missing columns ssnLastFour, licenseStatus"


def test_an_empty_file_misses_every_column(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(SeedError, match=f"line 1: missing columns {', '.join(COLUMNS)}$"):
        read_licenses(path)


def _with(field: str, value: str) -> str:
    values = dict(zip(COLUMNS, ROW.split(","), strict=True))
    values[field] = value
    return ",".join(values[c] for c in COLUMNS)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("givenName", "  ", "empty givenName"),
        ("providerId", "not-a-uuid", "providerId is not a UUID"),
        ("compact", "xyz", "unknown compact 'xyz'"),
        ("jurisdiction", "zz", "unknown jurisdiction 'zz'"),
        (
            "licenseType",
            "occupational therapist",
            "license type 'occupational therapist' is not in compact aslp",
        ),
        ("ssnLastFour", "61a3", "ssnLastFour must be exactly 4 digits"),
        ("ssnLastFour", "61834", "ssnLastFour must be exactly 4 digits"),
        ("dateOfBirth", "2023-02-30", "dateOfBirth must be a real YYYY-MM-DD date"),
        ("dateOfBirth", "20230228", "dateOfBirth must be a real YYYY-MM-DD date"),
        ("dateOfBirth", "1979-8-23", "dateOfBirth must be a real YYYY-MM-DD date"),
    ],
)
def test_a_bad_row_is_reported_by_line_number(
    field: str, value: str, reason: str, tmp_path: Path
) -> None:
    # Given a file whose fourth line is bad, after two good rows
    path = write(tmp_path, HEADER, ROW, BOB_ROW, _with(field, value), BOB_ROW)
    # When it is read, the error names the file, line 4 and the reason
    with pytest.raises(SeedError) as raised:
        read_licenses(path)
    assert str(raised.value) == f"{path}: line 4: {reason}"


def test_a_short_row_reports_its_empty_columns(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, ROW, ROW.rsplit(",", 2)[0])
    with pytest.raises(SeedError, match=r"line 3: empty ssnLastFour, licenseStatus$"):
        read_licenses(path)
