"""Checking and trimming the audit hash chain: ``verify_chain`` and the retention purge.

Verification trusts nothing in the database that the audit key does not seal: each row's hash
(an HMAC over its content and its predecessor's hash), the head's MAC (newest row, keyed epoch),
the anchor's MAC (last purged row, its time). What the key cannot show, the newest rows deleted
behind a head copied earlier, the instance's high-water mark and a SIEM copy show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import utcnow
from plugins.security import highwater, seal
from plugins.security.audit import HEAD_ID, audit_key, canonical_time, event_hash, lock_chain
from plugins.security.models import AuditChainHead, SecurityEvent
from plugins.security.siem_check import SiemMismatch, check_siem


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: ``ok``, rows checked, the first bad row and what is wrong
    with it; ``notes`` say what else was checked (mark, SIEM copy, rows of the old rule)."""

    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()


class Broken(Exception):
    """Found while verifying: the first bad row (or head) and the reason."""

    def __init__(self, bad_id: int | None, reason: str) -> None:
        super().__init__(reason)
        self.bad_id, self.reason = bad_id, reason


def verify_chain(batch: int = 1000, siem_lines: Iterable[str] | None = None) -> ChainReport:
    """Check the seals, walk the events in id order checking every hash and link, then compare
    the tail with the instance's high-water mark and, when given, the lines of a SIEM copy."""
    key, notes, walked = audit_key(), [], [0]
    try:
        with db.engine.connect() as conn:
            head = conn.execute(select(AuditChainHead.__table__).where(AuditChainHead.id == HEAD_ID)).first()
            if head is None:
                stray = conn.execute(select(func.min(SecurityEvent.id))).scalar()
                if stray is not None:
                    raise Broken(stray, "events exist but the chain head is missing")
                return ChainReport(True, 0)
            _check_seals(key, head, notes)
            _walk(conn, key, head, batch, walked)
            _check_mark(conn, key, head, notes)
            if siem_lines is not None:
                notes.append(check_siem(conn, key, head, siem_lines))
    except (Broken, SiemMismatch) as broken:
        return ChainReport(False, walked[0], broken.bad_id, broken.reason, tuple(notes))
    return ChainReport(True, walked[0], notes=tuple(notes))


def _check_seals(key: bytes, head, notes: list[str]) -> None:
    if head.head_mac is None:
        if head.keyed_from <= head.last_id:
            raise Broken(head.last_id, "forged chain head: its MAC is missing although keyed rows exist")
        notes.append("the chain head is not sealed yet: no event was stored since the upgrade")
    elif not seal.matches(seal.head_mac(key, head.last_id, head.last_hash, head.keyed_from), head.head_mac):
        raise Broken(head.last_id, "forged chain head: it does not match its MAC (moved or rewound)")
    anchor_time = canonical_time(head.anchor_time) if head.anchor_time else None
    if head.anchor_mac is None:
        if head.head_mac is not None:
            raise Broken(head.anchor_id, "forged purge anchor: it has no MAC")
    elif not seal.matches(
        seal.anchor_mac(key, head.anchor_id, head.anchor_hash, anchor_time), head.anchor_mac
    ):
        raise Broken(
            head.anchor_id, f"forged purge anchor at row {head.anchor_id}: it does not match its MAC"
        )
    if head.anchor_time is not None:
        days = current_app.config["SECURITY_EVENTS_RETENTION_DAYS"]
        if _aware(head.anchor_time) >= utcnow() - timedelta(days=days):
            raise Broken(
                head.anchor_id,
                f"purge anchor at row {head.anchor_id} covers events newer than the {days}-day retention",
            )
    if head.keyed_from > 1:
        notes.append(f"rows before id {head.keyed_from} were written before the chain was keyed")


def _walk(conn, key: bytes, head, batch: int, walked: list[int]) -> None:
    events = SecurityEvent.__table__
    stale = conn.execute(select(func.min(events.c.id)).where(events.c.id <= head.anchor_id)).scalar()
    if stale is not None:
        raise Broken(stale, "row at or before the purge anchor (inserted)")
    expected_prev, after = head.anchor_hash, head.anchor_id
    while rows := conn.execute(
        select(events)
        .where(events.c.id > after, events.c.id <= head.last_id)
        .order_by(events.c.id)
        .limit(batch)
    ).all():
        for row in rows:
            if row.prev_hash != expected_prev:
                raise Broken(
                    row.id,
                    "link to the previous row is broken (a row before it was deleted, inserted or moved)",
                )
            if not _hash_ok(key, head.keyed_from, row):
                raise Broken(row.id, "content does not match its hash (modified)")
            expected_prev, after = row.hash, row.id
            walked[0] += 1
    if expected_prev != head.last_hash:
        raise Broken(
            head.last_id,
            f"truncated tail: the newest rows are missing, the chain head expects row {head.last_id}",
        )
    beyond = conn.execute(select(func.min(events.c.id)).where(events.c.id > head.last_id)).scalar()
    if beyond is not None:
        raise Broken(beyond, "row beyond the chain head (inserted)")


def _hash_ok(key: bytes, keyed_from: int, row) -> bool:
    content = dict(row._mapping)
    if event_hash(key, row.prev_hash, content) == row.hash:
        return True
    # Before the chain was keyed by default: plain SHA-256 (or SECURITY_AUDIT_KEY, the key
    # above). Rewriting such a row changes the hash the first keyed row seals as its link.
    return row.id < keyed_from and event_hash(None, row.prev_hash, content) == row.hash


def _check_mark(conn, key: bytes, head, notes: list[str]) -> None:
    try:
        mark = highwater.read_mark(current_app._get_current_object(), key)
    except highwater.MarkError as error:
        raise Broken(None, f"{error}; remove it only after comparing the chain with a SIEM copy") from None
    if mark is None:
        notes.append(
            "this instance has no high-water mark (it wrote no event): rewound heads are not checked"
        )
        return
    if mark.keyed_from != head.keyed_from:
        raise Broken(head.last_id, "forged chain head: its keyed epoch differs from this instance's mark")
    if mark.last_id > head.last_id:
        raise Broken(
            mark.last_id,
            f"rewound chain head and truncated tail: this instance wrote row {mark.last_id} "
            f"(its high-water mark) but the chain head ends at row {head.last_id}",
        )
    if mark.last_id > head.anchor_id:
        events = SecurityEvent.__table__
        found = conn.execute(select(events.c.hash).where(events.c.id == mark.last_id)).scalar()
        if found != mark.last_hash:
            raise Broken(
                mark.last_id,
                f"rewound chain head: row {mark.last_id} is not the row this instance wrote "
                "(the tail was deleted and written anew)",
            )
    notes.append(f"the chain reaches this instance's high-water mark (row {mark.last_id})")


def purge_events(days: int | None = None) -> int:
    """Delete events older than the retention period; keep the rest verifiable via the anchor,
    sealed with its time (verification accepts no anchor inside the retention period)."""
    retention = current_app.config["SECURITY_EVENTS_RETENTION_DAYS"]
    days = retention if days is None else days
    if days < retention:
        raise ValueError(f"{days} days is shorter than SECURITY_EVENTS_RETENTION_DAYS ({retention})")
    cutoff = utcnow() - timedelta(days=days)
    events, head_table, key = SecurityEvent.__table__, AuditChainHead.__table__, audit_key()
    with db.engine.connect() as conn:
        head = lock_chain(conn)
        # Only a prefix of the chain may go, so that the remaining rows stay contiguous.
        newest_old = conn.execute(
            select(func.max(events.c.id)).where(events.c.timestamp < cutoff, events.c.id <= head.last_id)
        ).scalar()
        if newest_old is None:
            conn.rollback()
            return 0
        anchor = conn.execute(
            select(events.c.hash, events.c.timestamp).where(events.c.id == newest_old)
        ).one()
        deleted = conn.execute(delete(events).where(events.c.id <= newest_old)).rowcount
        mac = seal.anchor_mac(key, newest_old, anchor.hash, canonical_time(anchor.timestamp))
        conn.execute(
            update(head_table)
            .where(head_table.c.id == HEAD_ID)
            .values(
                anchor_id=newest_old,
                anchor_hash=anchor.hash,
                anchor_time=_aware(anchor.timestamp),
                anchor_mac=mac,
                updated_at=utcnow(),
            )
        )
        conn.commit()
    return deleted


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
