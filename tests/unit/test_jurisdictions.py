"""Which jurisdictions are live for registration: configured, demo data's, or none."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core import jurisdictions
from core.local.stack import DEMO_LICENSES


def test_the_setting_lists_every_compact_sorted_without_repeats() -> None:
    live = jurisdictions.configured({"aslp": ["oh", "ky", "oh"]}, True, DEMO_LICENSES)

    assert live == {"aslp": ("ky", "oh"), "octp": (), "coun": ()}


def test_unset_on_the_local_stack_means_the_demo_data_jurisdictions(tmp_path: Path) -> None:
    # Given a demo CSV naming three licenses
    demo = tmp_path / "demo.csv"
    demo.write_text("compact,jurisdiction,other\naslp,oh,x\ncoun,ky,y\naslp,ne,z\n")

    # Then its jurisdictions are live, and a compact it lacks has none
    live = jurisdictions.configured(None, True, demo)

    assert live == {"aslp": ("ne", "oh"), "octp": (), "coun": ("ky",)}


def test_unset_in_aws_means_none_and_says_so_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.jurisdictions"):
        live = jurisdictions.configured(None, False, DEMO_LICENSES)

    assert live == {"aslp": (), "octp": (), "coun": ()}
    assert [r.getMessage() for r in caplog.records] == [
        "LIVE_JURISDICTIONS is not set: no jurisdiction is live for registration"
    ]


def test_one_compact_or_all() -> None:
    live = {"aslp": ("ky", "oh"), "octp": ("co",), "coun": ()}

    assert jurisdictions.live_in(live) == {"aslp": ["ky", "oh"], "octp": ["co"], "coun": []}
    assert jurisdictions.live_in(live, "coun") == {"coun": []}
