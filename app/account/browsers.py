"""A short, human name for a User-Agent string ("Firefox on Linux"), for the session list.

Plain substring tests on a string the sessions table already bounds to 200 characters: linear in
its length, no regular expression, and any text gives an answer."""

from __future__ import annotations

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("HeadlessChrome/", "Headless Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("CriOS/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests/", "Python requests"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
MAX_INSPECTED = 400


def describe(user_agent: str | None) -> str:
    """ "<browser> on <system>", either part "Unknown ..." when the string does not say."""
    text = (user_agent or "")[:MAX_INSPECTED]
    browser = next((name for marker, name in BROWSERS if marker in text), "Unknown browser")
    system = next((name for marker, name in SYSTEMS if marker in text), None)
    return f"{browser} on {system}" if system else browser
