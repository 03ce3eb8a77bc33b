"""Checking and trimming the audit hash chain: ``verify_chain`` and the retention purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import utcnow
from plugins.security.audit import HEAD_ID, audit_key, event_hash, lock_chain
from plugins.security.models import GENESIS_HASH, AuditChainHead, SecurityEvent


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: ``ok``, rows checked, and the first bad row if any."""

    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


def verify_chain(batch: int = 1000) -> ChainReport:
    """Walk the events in id order and check every hash and every link to the predecessor."""
    events, key = SecurityEvent.__table__, audit_key()
    with db.engine.connect() as conn:
        head = conn.execute(select(AuditChainHead.__table__).where(AuditChainHead.id == HEAD_ID)).first()
        last_id = head.last_id if head else 0
        expected_prev = head.anchor_hash if head else GENESIS_HASH
        checked, after = 0, head.anchor_id if head else 0
        if head is None:
            stray = conn.execute(select(func.min(events.c.id))).scalar()
            if stray is not None:
                return ChainReport(False, 0, stray, "events exist but the chain head is missing")
            return ChainReport(True, 0)
        stale = conn.execute(select(func.min(events.c.id)).where(events.c.id <= head.anchor_id)).scalar()
        if stale is not None:
            return ChainReport(False, 0, stale, "row at or before the purge anchor (inserted)")
        while True:
            rows = conn.execute(
                select(events)
                .where(events.c.id > after, events.c.id <= last_id)
                .order_by(events.c.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            for row in rows:
                if row.prev_hash != expected_prev:
                    return ChainReport(
                        False,
                        checked,
                        row.id,
                        "link to the previous row is broken (a row before it was deleted, inserted or moved)",
                    )
                if event_hash(key, row.prev_hash, dict(row._mapping)) != row.hash:
                    return ChainReport(False, checked, row.id, "content does not match its hash (modified)")
                expected_prev, after = row.hash, row.id
                checked += 1
        if expected_prev != head.last_hash:
            return ChainReport(
                False,
                checked,
                last_id,
                f"the newest rows are missing: the chain head expects row {last_id}",
            )
        beyond = conn.execute(select(func.min(events.c.id)).where(events.c.id > last_id)).scalar()
        if beyond is not None:
            return ChainReport(False, checked, beyond, "row beyond the chain head (inserted)")
    return ChainReport(True, checked)


def purge_events(days: int | None = None) -> int:
    """Delete events older than the retention period; keep the rest verifiable via the anchor."""
    days = days if days is not None else current_app.config["SECURITY_EVENTS_RETENTION_DAYS"]
    cutoff = utcnow() - timedelta(days=days)
    events, head_table = SecurityEvent.__table__, AuditChainHead.__table__
    with db.engine.connect() as conn:
        head = lock_chain(conn)
        # Only a prefix of the chain may go, so that the remaining rows stay contiguous.
        newest_old = conn.execute(
            select(func.max(events.c.id)).where(events.c.timestamp < cutoff, events.c.id <= head.last_id)
        ).scalar()
        if newest_old is None:
            conn.rollback()
            return 0
        anchor_hash = conn.execute(select(events.c.hash).where(events.c.id == newest_old)).scalar_one()
        deleted = conn.execute(delete(events).where(events.c.id <= newest_old)).rowcount
        conn.execute(
            update(head_table)
            .where(head_table.c.id == HEAD_ID)
            .values(anchor_id=newest_old, anchor_hash=anchor_hash, updated_at=utcnow())
        )
        conn.commit()
    return deleted
