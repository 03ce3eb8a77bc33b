"""Make user-controlled text safe to record: bounded length, no control characters, no secrets."""

from __future__ import annotations

import json
import re
from typing import Any

# C0/C1 controls and the Unicode line separators: any of them could forge a log line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
_KEY_TOKENS = re.compile(r"[a-z0-9]+")
SECRET_KEY_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "otp",
        "totp",
        "code",
        "codes",
        "pin",
        "csrf",
        "cookie",
        "authorization",
        "apikey",
        "credential",
        "credentials",
        "privatekey",
    }
)
REDACTED = "[redacted]"
MAX_KEYS = 30
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 500


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def clean_text(value: Any, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters with control characters escaped."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(_escape, text[: limit * 4])  # bound the work on huge inputs first
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def is_secret_key(key: str) -> bool:
    """Whether a field called ``key`` may hold a password, code, secret or token."""
    lowered = re.sub(r"([a-z])([A-Z])", r"\1_\2", key).lower()
    tokens = _KEY_TOKENS.findall(lowered)
    return any(token in SECRET_KEY_WORDS for token in tokens) or "".join(tokens) in SECRET_KEY_WORDS


def clean_metadata(metadata: Any) -> dict[str, Any]:
    """A JSON-safe, bounded copy of ``metadata`` with secret-looking keys redacted."""
    if not isinstance(metadata, dict):
        return {}
    result: dict[str, Any] = {}
    for raw_key, value in list(metadata.items())[:MAX_KEYS]:
        key = clean_text(raw_key, MAX_KEY_LENGTH)
        if is_secret_key(key):
            result[key] = REDACTED
        elif value is None or isinstance(value, bool | int):
            result[key] = value
        elif isinstance(value, float):
            result[key] = value if value == value and abs(value) != float("inf") else str(value)
        elif isinstance(value, str):
            result[key] = clean_text(value, MAX_VALUE_LENGTH)
        else:
            nested = _redact_nested(value, depth=0)
            result[key] = clean_text(json.dumps(nested, default=str, sort_keys=True), MAX_VALUE_LENGTH)
    return result


def _redact_nested(value: Any, depth: int) -> Any:
    if depth > 5:
        return "…"
    if isinstance(value, dict):
        return {
            str(k): REDACTED if is_secret_key(str(k)) else _redact_nested(v, depth + 1)
            for k, v in list(value.items())[:MAX_KEYS]
        }
    if isinstance(value, list | tuple | set):
        return [_redact_nested(item, depth + 1) for item in list(value)[:MAX_KEYS]]
    return value
