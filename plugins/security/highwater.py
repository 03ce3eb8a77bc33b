"""The instance's high-water mark of the audit chain, kept outside the database.

Whoever can write the database could delete the newest rows and restore a chain head copied
earlier (its MAC was valid then). The writer therefore also records, in the instance folder, the
newest row this instance committed (id, hash, keyed epoch, MACed): ``verify-audit`` on this host
then sees a head behind the mark, or a row at the mark that is not the one written. The mark only
rises; several processes of one host raise it under a file lock.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from plugins.security.seal import mark_mac, matches

try:  # POSIX; elsewhere processes of one host may lower the mark by a few rows at worst
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

log = logging.getLogger(__name__)

MARK_FILE = "audit-mark.json"
_lock = threading.Lock()
# The highest id each mark file was raised to by this process: spares re-reading the file.
_raised: dict[str, int] = {}


class MarkError(RuntimeError):
    """The mark file exists but is unreadable or does not match its MAC."""


@dataclass(frozen=True)
class Mark:
    last_id: int
    last_hash: str
    keyed_from: int


def mark_path(app: Flask) -> Path:
    return Path(app.instance_path) / MARK_FILE


def highest_written(app: Flask) -> int:
    """The newest id this process raised the mark to (0 when none)."""
    return _raised.get(str(mark_path(app)), 0)


def read_mark(app: Flask, key: bytes) -> Mark | None:
    """The instance's mark, None when this instance never wrote a row."""
    path = mark_path(app)
    try:
        data = json.loads(path.read_text(encoding="ascii"))
        mark = Mark(int(data["last_id"]), str(data["last_hash"]), int(data["keyed_from"]))
        mac = data["mac"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MarkError(f"the high-water mark {MARK_FILE} is unreadable ({type(error).__name__})") from None
    if not matches(mark_mac(key, mark.last_id, mark.last_hash, mark.keyed_from), mac):
        raise MarkError(f"the high-water mark {MARK_FILE} does not match its MAC (altered)")
    return mark


def raise_mark(app: Flask, key: bytes, mark: Mark) -> None:
    """Raise the instance's mark to ``mark`` (a committed row); never lower it, never raise."""
    path = mark_path(app)
    with _lock:
        if _raised.get(str(path), 0) >= mark.last_id:
            return
        try:
            with _file_lock(path):
                try:
                    current = read_mark(app, key)
                except MarkError:
                    current = None  # keep the evidence: the altered file is replaced, not trusted
                if current is None or current.last_id < mark.last_id:
                    _write(path, key, mark)
                    current = mark
            _raised[str(path)] = current.last_id
        except OSError as error:  # the audit row is stored; a missing mark only weakens a check
            log.warning("could not raise the audit high-water mark: %s", error)


def _write(path: Path, key: bytes, mark: Mark) -> None:
    body = {
        "last_id": mark.last_id,
        "last_hash": mark.last_hash,
        "keyed_from": mark.keyed_from,
        "mac": mark_mac(key, mark.last_id, mark.last_hash, mark.keyed_from),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(json.dumps(body))
    os.replace(temporary, path)  # readers see the old mark or the new one, never half of one


@contextmanager
def _file_lock(path: Path):
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
