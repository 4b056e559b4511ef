"""Stored times: what to_stored writes, from_stored reads back exactly, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.adapters.key_layout import from_stored, to_stored


def test_stored_time_round_trips_in_utc() -> None:
    """Given a time in another zone, when stored and read, it is the same instant, in UTC."""
    moment = datetime(2026, 3, 1, 1, 2, 3, 4567, tzinfo=timezone(timedelta(hours=-5)))

    stored = to_stored(moment)

    assert stored == "2026-03-01T06:02:03.004567Z"
    assert from_stored(stored) == moment
    assert from_stored(stored).tzinfo is UTC


@pytest.mark.parametrize("value", ["2026-03-01T06:02:03.004567", "2026-03-01T06:02:03+00:00", ""])
def test_times_not_written_by_to_stored_are_refused(value: str) -> None:
    """Given a time without the Z that to_stored writes, when read, it is refused."""
    with pytest.raises(ValueError, match="stored UTC time"):
        from_stored(value)
