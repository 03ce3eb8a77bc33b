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
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from plugins.security.seal import mark_mac, matches

try:  # POSIX; elsewhere processes of one host may lower the mark by a few rows at worst
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

log = logging.getLogger(__name__)

MARK_FILE = "audit-mark"
SLOTS, SLOT_SIZE = 2, 256
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
    try:
        data = mark_path(app).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise MarkError(f"the high-water mark {MARK_FILE} is unreadable ({error.strerror})") from None
    found = _best(data, key)
    if found is None:
        raise MarkError(f"the high-water mark {MARK_FILE} does not match its MAC (altered)")
    return found[1]


def _best(data: bytes, key: bytes) -> tuple[int, Mark] | None:
    """The valid slot holding the highest row, with its index (a slot torn by a crash during
    its write is skipped: the other still holds the previous mark)."""
    best = None
    for index in range(SLOTS):
        mark = _parse(data[index * SLOT_SIZE : (index + 1) * SLOT_SIZE], key)
        if mark is not None and (best is None or mark.last_id > best[1].last_id):
            best = (index, mark)
    return best


def _parse(slot: bytes, key: bytes) -> Mark | None:
    try:
        data = json.loads(slot.decode("ascii"))
        mark = Mark(int(data["last_id"]), str(data["last_hash"]), int(data["keyed_from"]))
        mac = str(data["mac"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return mark if matches(mark_mac(key, mark.last_id, mark.last_hash, mark.keyed_from), mac) else None


def raise_mark(app: Flask, key: bytes, mark: Mark) -> None:
    """Raise the instance's mark to ``mark`` (a committed row); never lower it, never raise."""
    path = mark_path(app)
    with _lock:
        if _raised.get(str(path), 0) >= mark.last_id:
            return
        try:
            _raised[str(path)] = _raise_in_file(path, key, mark)
        except OSError as error:  # the audit row is stored; a missing mark only weakens a check
            log.warning("could not raise the audit high-water mark: %s", error)


def _raise_in_file(path: Path, key: bytes, mark: Mark) -> int:
    # Written in place, not replaced: a rename over the old file makes the filesystem flush it,
    # which doubled the cost of an append. Two slots, so that a torn write loses nothing.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        best = _best(os.pread(descriptor, SLOTS * SLOT_SIZE, 0), key)
        if best is not None and best[1].last_id >= mark.last_id:
            return best[1].last_id
        body = {
            "last_id": mark.last_id,
            "last_hash": mark.last_hash,
            "keyed_from": mark.keyed_from,
            "mac": mark_mac(key, mark.last_id, mark.last_hash, mark.keyed_from),
        }
        slot = 0 if best is None else 1 - best[0]  # overwrite the older slot
        os.pwrite(descriptor, json.dumps(body).encode("ascii").ljust(SLOT_SIZE - 1) + b"\n", slot * SLOT_SIZE)
        return mark.last_id
    finally:
        os.close(descriptor)  # closing releases the lock
