"""Compare the audit chain with a SIEM copy of its JSON lines (``verify-audit --siem FILE``).

Each stored event's line carries the row's content, its hash and its predecessor's hash, so a
line proves itself (its hash is an HMAC under the audit key over exactly that content) and then
proves the row: a row missing from the database, rewritten, or beyond a head moved back is named.
The copy outside the database survives whoever rewinds the database, with or without the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from plugins.security.audit import event_hash
from plugins.security.models import SecurityEvent

MAX_LINE = 1_000_000
BATCH = 500


class SiemMismatch(Exception):
    """The SIEM copy shows a row deleted, rewritten or cut off (or a line of it altered)."""

    def __init__(self, bad_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.bad_id, self.reason = bad_id, reason


def check_siem(conn, key: bytes, head, lines: Iterable[str]) -> str:
    """Check every authentic line of a stored event against the database; raise SiemMismatch for
    the first row the copy shows deleted, rewritten or cut off; return a note of what was compared."""
    compared = 0
    for chunk in _chunks(_authentic(key, head.keyed_from, lines)):
        live = [entry for entry in chunk if entry[0] > head.anchor_id]  # purged rows are gone by design
        beyond = [row_id for row_id, _ in live if row_id > head.last_id]
        if beyond:
            raise SiemMismatch(
                max(beyond),
                f"rewound chain head and truncated tail: the SIEM copy has row {max(beyond)}, "
                f"the chain head ends at row {head.last_id}",
            )
        stored = _hashes(conn, [row_id for row_id, _ in live])
        for row_id, row_hash in live:
            if row_id not in stored:
                raise SiemMismatch(
                    row_id, f"row {row_id} is in the SIEM copy but missing from the database (deleted)"
                )
            if stored[row_id] != row_hash:
                raise SiemMismatch(row_id, f"row {row_id} differs from its SIEM copy (rewritten)")
        compared += len(live)
    return f"{compared} events compared with the SIEM copy"


def _authentic(key: bytes, keyed_from: int, lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        entry = _parse(line)
        if entry is None:
            continue  # not an event line of this log (other loggers, a stored=false event)
        row, prev_hash, row_hash = entry
        if event_hash(key, prev_hash, row) != row_hash and not (
            row["id"] < keyed_from and event_hash(None, prev_hash, row) == row_hash
        ):
            raise SiemMismatch(
                row["id"], f"SIEM line {number} (row {row['id']}) does not match its hash (altered)"
            )
        yield row["id"], row_hash


def _parse(line: str) -> tuple[dict[str, Any], str, str] | None:
    start = line.find("{")
    if start < 0 or len(line) > MAX_LINE:
        return None
    try:
        data = json.loads(line[start:])
        if not (isinstance(data, dict) and data.get("stored") is True and data.get("hash")):
            return None
        row = {
            "id": int(data["id"]),
            "timestamp": datetime.fromisoformat(str(data["time"]).removesuffix("Z")),
            "event_type": data["event"],
            "severity": data["severity"],
            "user_id": data["user_id"],
            "ip_address": data["ip"],
            "user_agent": data["user_agent"],
            "description": data["description"],
            "metadata": data["metadata"],
        }
        return row, str(data["prev_hash"]), str(data["hash"])
    except (ValueError, KeyError, TypeError):
        return None


def _chunks(entries: Iterator[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    chunk: list[tuple[int, str]] = []
    for entry in entries:
        chunk.append(entry)
        if len(chunk) >= BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _hashes(conn, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    events = SecurityEvent.__table__
    return dict(conn.execute(select(events.c.id, events.c.hash).where(events.c.id.in_(ids))).all())
