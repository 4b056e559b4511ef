"""A short, fixed-vocabulary description of a browser from its User-Agent header.

Emails and the account history show "Firefox on Windows", never the raw header: the header is
whatever the caller chose to send, and must not put the caller's text into a notice.
"""

from __future__ import annotations

# Order matters: Edge and Opera also name Chrome, Chrome also names Safari, Android names Linux.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests/", "Python requests"),
    ("python-httpx/", "Python httpx"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
UNKNOWN = "Unknown browser"


def describe(user_agent: str | None) -> str:
    """E.g. "Firefox on Windows"; UNKNOWN when nothing known is recognised."""
    if not user_agent:
        return UNKNOWN
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return UNKNOWN
