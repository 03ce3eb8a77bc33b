"""The audit key and the seals of the audit chain: keyed MACs over the chain head and the purge
anchor, so that someone who can write the database but does not hold the key can neither move
the head nor forge an anchor.

The key is ``SECURITY_AUDIT_KEY`` when configured; otherwise the instance folder's ``audit-key``
file, generated at first start outside production (production refuses to start without one,
since a key generated per host would differ between the hosts sharing one database).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

from flask import Flask

from app.config import ConfigError
from app.keys import KeyFileError, instance_secret, read_secret

AUDIT_KEY_FILE = "audit-key"


def resolve_audit_key(app: Flask) -> bytes:
    """The key of the audit chain: configured, or read (created outside production) from the
    instance folder. Raise ConfigError naming SECURITY_AUDIT_KEY when there is none."""
    configured = app.config.get("SECURITY_AUDIT_KEY")
    if configured:
        return configured.encode("utf-8")
    path = Path(app.instance_path) / AUDIT_KEY_FILE
    try:
        if app.config["PORTAL_ENV"] != "production":
            return instance_secret(app.instance_path, AUDIT_KEY_FILE).encode("ascii")
        if path.exists():
            return read_secret(path).encode("ascii")
    except (KeyFileError, OSError) as error:
        raise ConfigError(f"SECURITY_AUDIT_KEY: not set, and {error}") from None
    raise ConfigError(
        "SECURITY_AUDIT_KEY: required in production; set it to a long random string (the same on "
        f"every host), or put one in the instance folder's {AUDIT_KEY_FILE} file (mode 0600); "
        "keep it out of the database"
    )


def _mac(key: bytes, label: str, *fields: object) -> str:
    # The label keeps a head's MAC from ever passing as an anchor's (or a row's: those hash a
    # JSON list that starts with a number).
    message = json.dumps([label, *fields], separators=(",", ":"), ensure_ascii=True).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_mac(key: bytes, last_id: int, last_hash: str, keyed_from: int) -> str:
    """The MAC of the chain head: the newest row and the first row hashed with the key."""
    return _mac(key, "head", last_id, last_hash, keyed_from)


def anchor_mac(key: bytes, anchor_id: int, anchor_hash: str, anchor_time: str | None) -> str:
    """The MAC of the purge anchor: the last purged row, its hash and its time (None for the
    genesis anchor and for an anchor from before the chain was sealed)."""
    return _mac(key, "anchor", anchor_id, anchor_hash, anchor_time)


def mark_mac(key: bytes, last_id: int, last_hash: str, keyed_from: int) -> str:
    """The MAC of an instance's high-water mark."""
    return _mac(key, "mark", last_id, last_hash, keyed_from)


def matches(expected: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(expected, stored)
