"""Which jurisdictions of each compact are live for registration."""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.models import LICENSE_TYPES_BY_COMPACT

log = logging.getLogger(__name__)

LiveJurisdictions = Mapping[str, tuple[str, ...]]


def configured(
    setting: Mapping[str, Sequence[str]] | None, is_local: bool, demo_csv: Path
) -> LiveJurisdictions:
    """Every compact with its live postal codes: the setting, else the demo data's or none."""
    if setting is None and is_local:
        setting = _jurisdictions_in(demo_csv)
    elif setting is None:
        # Registration pages list no jurisdiction until an operator names the live ones.
        log.warning("LIVE_JURISDICTIONS is not set: no jurisdiction is live for registration")
        setting = {}
    return {
        compact: tuple(sorted(set(setting.get(compact, ()))))
        for compact in LICENSE_TYPES_BY_COMPACT
    }


def live_in(live: LiveJurisdictions, compact: str | None = None) -> dict[str, list[str]]:
    """The live jurisdictions of every compact, or of the one asked for."""
    return {name: list(codes) for name, codes in live.items() if compact in (None, name)}


def _jurisdictions_in(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with path.open(newline="") as rows:
        for row in csv.DictReader(rows):
            found.setdefault(row["compact"], []).append(row["jurisdiction"])
    return found
