"""The browser named in emails and the account history, from a fixed vocabulary."""

from __future__ import annotations

import pytest

from core.user_agents import describe

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
EDGE_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (EDGE_MAC, "Edge on macOS"),
        (CHROME_ANDROID, "Chrome on Android"),
        ("curl/8.5.0", "curl"),
        ("Mozilla/5.0 (X11; Linux x86_64) SomethingNew/1.0", "A browser on Linux"),
        ("<script>alert(1)</script>", "Unknown browser"),
        ("", "Unknown browser"),
        (None, "Unknown browser"),
    ],
)
def test_a_user_agent_is_named_in_words_of_our_own(user_agent: str | None, described: str) -> None:
    assert describe(user_agent) == described
