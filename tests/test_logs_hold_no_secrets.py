"""No log line of the suite holds a secret or personal data; runs after every other test.

It reads what tests/support/log_capture.py captured in this process (every logger, DEBUG and
up, with tracebacks) and the log files of the real servers the e2e tests started. Under
pytest-xdist it also waits for, and reads, what every other worker captured and started.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from core.local.stack import DEMO_LICENSES
from tests.support.data import ALICE, BOB, SECRETS_THAT_MUST_NOT_BE_LOGGED
from tests.support.leaks import SEEN_SECRETS
from tests.support.log_capture import (
    OTHER_WORKERS_WAIT_SECONDS,
    WorkerLogs,
    captured_records,
    is_listening,
    other_workers_logs,
)
from tests.support.server_logs import SERVER_LOG_FILES

MAX_REPORT_LINES = 60
# The suite's own per-test timeout (pyproject.toml), for the scan after waiting for other workers.
SCAN_TIMEOUT_SECONDS = 300
NAME, DOB, SSN, RUNTIME = "name", "date of birth", "SSN last four", "runtime secret"
# core/logs.py's text format: "<asctime> <LEVEL> [<request id>] <logger>: <message>".
_SERVER_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ (?:\[[^\]]*\] )?([^\s:]+)")
_UVICORN_LINE = re.compile(r"^(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):\s")


@dataclass(frozen=True)
class Secret:
    """What a log must not hold: a regex, and a description that does not reveal it."""

    kind: str
    label: str
    pattern: str
    literals: tuple[str, ...] = ()  # when the pattern means exactly "any of these strings"
    # Lower-case text that every match contains: lines without it skip the pattern.
    anchor: str = ""


def name_secret(value: str, label: str) -> Secret:
    """A name, case-insensitive, not as part of a longer word."""
    pattern = rf"(?i:(?<![^\W\d_]){re.escape(value)}(?![^\W\d_]))"
    # Case-insensitive matching and str.lower() agree on ASCII; other names are always tried.
    return Secret(NAME, label, pattern, anchor=value.lower() if value.isascii() else "")


def ssn_secret(value: str, label: str) -> Secret:
    """Four digits as a token of their own (not inside a number, a uuid or a decimal)."""
    return Secret(SSN, label, rf"(?<![\w.-]){re.escape(value)}(?![\w-]|\.\d)", anchor=value)


def dob_secret(value: str, label: str) -> Secret:
    """A date of birth in the forms code or people write it."""
    d = date.fromisoformat(value)
    forms = {
        d.isoformat(),
        d.strftime("%Y/%m/%d"),
        d.strftime("%Y%m%d"),
        d.strftime("%m/%d/%Y"),
        f"{d.month}/{d.day}/{d.year}",
        d.strftime("%d/%m/%Y"),
        d.strftime("%d.%m.%Y"),
        f"date({d.year}, {d.month}, {d.day})",
    }
    alternatives = "|".join(re.escape(form) for form in sorted(forms))
    # Every form writes the year in full.
    return Secret(DOB, label, rf"(?<!\d)(?:{alternatives})(?!\d)", anchor=str(d.year))


def runtime_secret(value: str) -> Secret:
    """A temporary password, token or chosen password, also URL- or JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    label = "temporary password, token or chosen password"
    return Secret(RUNTIME, label, _any_of(forms), tuple(sorted(forms)))


def _any_of(forms: Iterable[str]) -> str:
    return "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))


def shaped_secret(value: str, label: str) -> Secret:
    """A licensee value, by its shape."""
    if re.fullmatch(r"\d{4}", value):
        return ssn_secret(value, label)
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return dob_secret(value, label)
    return name_secret(value, label)


def licensee_secrets() -> list[Secret]:
    """Every value of SECRETS_THAT_MUST_NOT_BE_LOGGED, and the demo licensees' own."""
    found: list[Secret] = []
    described = set()
    for who, person in (("ALICE", ALICE), ("BOB", BOB)):
        for field, value in person.items():
            if value in SECRETS_THAT_MUST_NOT_BE_LOGGED:
                found.append(shaped_secret(value, f"{who} {field}"))
                described.add(value)
    for value in SECRETS_THAT_MUST_NOT_BE_LOGGED:
        if value not in described:
            found.append(shaped_secret(value, "test licensee"))
    with DEMO_LICENSES.open(newline="") as rows:
        for number, row in enumerate(csv.DictReader(rows), start=1):
            label = f"demo licensee row {number}"
            found.append(name_secret(row["givenName"], f"{label} givenName"))
            found.append(name_secret(row["familyName"], f"{label} familyName"))
            found.append(dob_secret(row["dateOfBirth"], f"{label} dateOfBirth"))
            found.append(ssn_secret(row["ssnLastFour"], f"{label} ssnLastFour"))
    return found


class Detector:
    """Finds secrets in text: anchored patterns for the shaped ones, a prefix index for literals.

    The suite logs tens of thousands of lines. As one regex of alternatives, the shaped secrets
    (names, dates of birth, SSN digits) cost ~280 us a line; each is now tried only on lines
    holding its anchor, a substring every match contains. The suite also sees thousands of
    runtime secrets: a literal of PREFIX characters or more can only occur where its first
    PREFIX characters do, so those are looked up among the text's PREFIX-grams and then
    confirmed with a substring test. The same findings, in about linear time.
    """

    PREFIX = 8

    def __init__(self, secrets: list[Secret]) -> None:
        self.secrets = secrets
        self.by_prefix: dict[str, list[tuple[str, int]]] = {}
        self.shaped: list[tuple[str, re.Pattern[str], int]] = []
        for index, secret in enumerate(secrets):
            if secret.literals and min(map(len, secret.literals)) >= self.PREFIX:
                for form in secret.literals:
                    self.by_prefix.setdefault(form[: self.PREFIX], []).append((form, index))
            else:
                self.shaped.append((secret.anchor, re.compile(secret.pattern), index))

    def find(self, text: str) -> Iterator[Secret]:
        """The secrets in text (each once)."""
        lowered = text.lower()
        found = {
            index
            for anchor, pattern, index in self.shaped
            if anchor in lowered and pattern.search(text)
        }
        if self.by_prefix and len(text) >= self.PREFIX:
            grams = {text[i : i + self.PREFIX] for i in range(len(text) - self.PREFIX + 1)}
            for prefix in grams & self.by_prefix.keys():
                found.update(index for form, index in self.by_prefix[prefix] if form in text)
        for index in sorted(found):
            yield self.secrets[index]


def server_log_records(path: Path) -> Iterator[tuple[str, str]]:
    """(logger, text) of a server log; traceback lines belong to the record above them."""
    logger = "server output"
    for line in path.read_text(errors="replace").splitlines():
        header = _SERVER_LINE.match(line)
        if header:
            logger = header.group(1)
        elif _UVICORN_LINE.match(line):
            logger = "uvicorn"
        elif line.startswith("{"):
            logger = _json_logger(line) or logger
        yield logger, line


def _json_logger(line: str) -> str | None:
    """The logger of a JSON log line (LOG_FORMAT=json), if it is one."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return str(event.get("logger")) if isinstance(event, dict) and "logger" in event else None


def sources(others: list[WorkerLogs]) -> Iterator[tuple[str, str, str]]:
    """(where, logger, text) of every captured record and every server log line."""
    for logger, text in captured_records():
        yield "pytest process", logger, text
    for worker in others:
        for logger, text in worker.records:
            yield f"pytest worker {worker.worker}", logger, text
    for path in server_logs(others):
        for logger, text in server_log_records(path):
            yield f"server log {path.parent.name}/{path.name}", logger, text


def server_logs(others: list[WorkerLogs]) -> list[Path]:
    """The server logs of this process's tests and of every other xdist worker's."""
    return [*SERVER_LOG_FILES, *(path for worker in others for path in worker.server_logs)]


def test_detector_flags_each_kind_but_not_lookalikes() -> None:
    """The patterns find secrets in the forms logs would hold them, and only those."""
    detector = Detector([*licensee_secrets(), runtime_secret("Tmp#Pa ss/9")])
    flagged = {
        "givenName=QUILLON": "ALICE givenName",
        "facts=LicenseFacts(date_of_birth=datetime.date(1979, 8, 23))": "ALICE dob",
        "dob 08/23/1979": "ALICE dob",
        "ssn='6183'": "ALICE partialSocial",
        "key aslp#oh#vantreska#quillon": "ALICE familyName",
        '{"PASSWORD": "Tmp#Pa ss/9"}': "temporary password, token or chosen password",
        "body=Tmp%23Pa+ss%2F9": "temporary password, token or chosen password",
    }
    for line, label in flagged.items():
        assert label in {s.label for s in detector.find(line)}, line
    for line in (
        "providerId=1c9a3e5f-7b2d-4f6a-6183-3d5b7a9c1e2f",
        "took 1.6183 s",
        "127.0.0.1:56183",
        "at 2026-11-24 21:25:35,618 id 16183",
        "Quillons and Averyl",
    ):
        assert list(detector.find(line)) == [], line


@pytest.mark.timeout(OTHER_WORKERS_WAIT_SECONDS + SCAN_TIMEOUT_SECONDS)
def test_no_log_line_holds_a_secret() -> None:
    """Every captured line and every e2e server log line is free of secrets."""
    assert is_listening(), (
        "the log_capture plugin is not loaded (tests/conftest.py needs "
        '`pytest_plugins = ["tests.support.log_capture"]`) or was detached'
    )
    others = other_workers_logs()
    for path in server_logs(others):
        assert path.exists(), f"the e2e server log {path} is missing"
        assert path.stat().st_size > 0, f"the e2e server log {path} is empty"
    seen = SEEN_SECRETS.union(*(worker.secrets for worker in others))
    secrets = licensee_secrets() + [runtime_secret(s) for s in sorted(seen) if s]
    detector = Detector(secrets)

    findings: Counter[tuple[str, str, str, str]] = Counter()
    checked = 0
    for where, logger, text in sources(others):
        checked += 1
        for secret in detector.find(text):
            findings[(secret.kind, secret.label, logger, where)] += 1

    # The report names the kind of secret and the logger, never the secret itself.
    lines = [
        f"  {count}x {kind} ({label}) in logger {logger!r} [{where}]"
        for (kind, label, logger, where), count in sorted(findings.items())
    ]
    if len(lines) > MAX_REPORT_LINES:
        lines[MAX_REPORT_LINES:] = [f"  ... and {len(lines) - MAX_REPORT_LINES} more"]
    report = "\n".join(lines)
    assert checked, "no log line was captured or written, so this test would prove nothing"
    assert not findings, f"secrets in {sum(findings.values())} of {checked} log lines:\n{report}"
