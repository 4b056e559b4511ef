"""Debian's Chromium driven by Playwright: accessibility, screenshots, narrow screens."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # installed by scripts/ensure-chromium.sh
AXE_SOURCE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"  # make web-deps
# `make screens` sets SCREENS_DIR=docs/screens to refresh the README's screenshots; a plain
# test run takes them into a temporary folder, so it leaves the working tree as it found it.
SCREENS_DIR = Path(os.environ.get("SCREENS_DIR") or tempfile.mkdtemp(prefix="screens-"))
WIDE, NARROW, NARROWEST = 1280, 375, 320
HEIGHT = 900
BLOCKING_IMPACTS = {"serious", "critical"}


def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the page as it is now."""
    # Evaluated through the DevTools protocol: the pages' CSP (script-src 'self') would
    # refuse an injected <script>, and should.
    page.evaluate(AXE_SOURCE.read_text() + "\n;undefined")
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation."""
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=2)


def assert_fits(page: Page, width: int = NARROWEST) -> None:
    """At `width` px the page needs no sideways scrolling."""
    page.set_viewport_size({"width": width, "height": HEIGHT})
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width} px wide at {width} px"


def capture(page: Page, name: str) -> None:
    """Check the page (axe, 320 px) and save it at 1280 and 375 px to SCREENS_DIR."""
    assert_accessible(page)
    assert_fits(page)
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.screenshot(path=SCREENS_DIR / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": WIDE, "height": HEIGHT})
