"""A jurisdiction's local time for notices: one IANA zone per jurisdiction (its main one)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Where a state spans zones, the zone most of its people live in; notices also give UTC.
ZONE_BY_JURISDICTION: dict[str, str] = {
    "al": "America/Chicago", "ak": "America/Anchorage", "az": "America/Phoenix",
    "ar": "America/Chicago", "ca": "America/Los_Angeles", "co": "America/Denver",
    "ct": "America/New_York", "de": "America/New_York", "dc": "America/New_York",
    "fl": "America/New_York", "ga": "America/New_York", "hi": "Pacific/Honolulu",
    "id": "America/Boise", "il": "America/Chicago", "in": "America/Indiana/Indianapolis",
    "ia": "America/Chicago", "ks": "America/Chicago", "ky": "America/New_York",
    "la": "America/Chicago", "me": "America/New_York", "md": "America/New_York",
    "ma": "America/New_York", "mi": "America/Detroit", "mn": "America/Chicago",
    "ms": "America/Chicago", "mo": "America/Chicago", "mt": "America/Denver",
    "ne": "America/Chicago", "nv": "America/Los_Angeles", "nh": "America/New_York",
    "nj": "America/New_York", "nm": "America/Denver", "ny": "America/New_York",
    "nc": "America/New_York", "nd": "America/Chicago", "oh": "America/New_York",
    "ok": "America/Chicago", "or": "America/Los_Angeles", "pa": "America/New_York",
    "pr": "America/Puerto_Rico", "ri": "America/New_York", "sc": "America/New_York",
    "sd": "America/Chicago", "tn": "America/Chicago", "tx": "America/Chicago",
    "ut": "America/Denver", "vt": "America/New_York", "va": "America/New_York",
    "vi": "America/St_Thomas", "wa": "America/Los_Angeles", "wv": "America/New_York",
    "wi": "America/Chicago", "wy": "America/Denver", "gu": "Pacific/Guam",
}  # fmt: skip


def describe_moment(moment: datetime, jurisdiction: str | None) -> str:
    """E.g. "2025-03-04 09:30 UTC (2025-03-04 04:30 EST in OH)"; UTC alone for unknown zones."""
    text = f"{moment:%Y-%m-%d %H:%M} UTC"
    zone = ZONE_BY_JURISDICTION.get((jurisdiction or "").lower())
    if zone is None:
        return text
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except ZoneInfoNotFoundError:  # a system without time zone data: UTC is still exact
        return text
    return f"{text} ({local:%Y-%m-%d %H:%M %Z} in {(jurisdiction or '').upper()})"
