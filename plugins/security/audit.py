"""The audit log, the first stage of the security-event pipeline: ``log_event`` appends a
hash-chained row, writes a JSON line for a SIEM and hands the stored event on to the next stage.

Writers in several processes are serialised on the chain head row: ``SELECT ... FOR UPDATE`` on
PostgreSQL and a write transaction taken up front (``BEGIN IMMEDIATE``) on SQLite. In each
process one writer thread (``audit_writer.py``) appends the queued events on a connection of its
own, one chain lock and one commit per batch, so that a request never waits for a second pool
connection; ``append_event`` waits for its batch's commit, then sends ``event_recorded`` in the
calling thread. Only a caller whose ORM session holds SQLite's write lock appends on that
connection itself, inside its own transaction.

Two ways in, one store. ``log_event`` is for callers outside the pipeline (sign-ins, inspection,
bans, the core's ``security_event`` signal): it appends, then hands the event to the stage that
the plugin's setup named (``SecurityState.next_stage``: the threat pipeline's ``process``).
``append_event`` appends and returns the stored event to its caller only: the pipeline's own
stages write with it (a detection, "IP blocked", an alert changed), so what they write never
comes back to the stage that runs the rules. This module imports nothing of that pipeline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

from blinker import Namespace
from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import insert, select, update

from app.database import upsert_insert
from app.events import EventType, Severity
from app.extensions import db
from app.models import utcnow
from app.signals import security_event
from plugins.security import highwater, repeats, seal
from plugins.security.audit_record import RecordedEvent, canonical_time
from plugins.security.audit_writer import FAILED, LATE, STORED, AuditWriter
from plugins.security.models import GENESIS_HASH, AuditChainHead, SecurityEvent
from plugins.security.sanitize import clean_metadata, clean_text
from plugins.security.state import EXTENSION
from plugins.security.state_parts import RepeatMemory

log = logging.getLogger(__name__)
siem = logging.getLogger("portal.security")

# Sent (sender=app) after every event is stored, with ``event=RecordedEvent``: for observers.
# The pipeline's stages do not listen to it; they are called in order (threats/pipeline.py).
event_recorded = Namespace().signal("security-event-recorded")
HEAD_ID = 1
SIEM_LEVELS = {
    "LOW": logging.INFO,
    "MEDIUM": logging.INFO,
    "HIGH": logging.WARNING,
    "CRITICAL": logging.ERROR,
}


def event_hash(key: bytes | None, prev_hash: str, row: dict[str, Any]) -> str:
    """The hash over an event's immutable content and its predecessor's hash: an HMAC under the
    audit key (plain SHA-256 with ``key=None``: the rule of rows before the chain was keyed)."""
    content = json.dumps(
        [
            row["id"],
            canonical_time(row["timestamp"]),
            row["event_type"],
            row["severity"],
            row["user_id"],
            row["ip_address"],
            row["user_agent"],
            row["description"],
            row["metadata"],
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode()
    if key:
        return hmac.new(key, content, hashlib.sha256).hexdigest()
    return hashlib.sha256(content).hexdigest()


def audit_key() -> bytes:
    """The audit chain's key (configured or the instance's; resolved when the plugin is set up)."""
    return current_app.extensions[EXTENSION].audit_key


def lock_chain(conn) -> Any:
    """Start the writer's transaction and lock the chain head (creating it once); return it."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    head, key = AuditChainHead.__table__, audit_key()
    _create_head(conn, key)
    locked = conn.execute(select(head).where(head.c.id == HEAD_ID).with_for_update()).one()
    _warn_if_tampered(key, locked)
    return locked


def _create_head(conn, key: bytes) -> None:
    """Insert the chain head row unless it exists."""
    conn.execute(
        upsert_insert(conn)(AuditChainHead.__table__)
        .values(
            id=HEAD_ID,
            last_id=0,
            last_hash=GENESIS_HASH,
            anchor_id=0,
            anchor_hash=GENESIS_HASH,
            anchor_mac=seal.anchor_mac(key, 0, GENESIS_HASH, None),
            keyed_from=1,
            head_mac=seal.head_mac(key, 0, GENESIS_HASH, 1),
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


def sealed_head(head: Any, last_id: int, last_hash: str, now: datetime) -> dict[str, Any]:
    """The chain head's new values after appending up to ``last_id``, its MAC included. The
    first write after the upgrade to a sealed chain also seals the anchor it finds."""
    key = audit_key()
    values = {
        "last_id": last_id,
        "last_hash": last_hash,
        "updated_at": now,
        "head_mac": seal.head_mac(key, last_id, last_hash, head.keyed_from),
    }
    if head.head_mac is None and head.anchor_mac is None:
        anchor_time = canonical_time(head.anchor_time) if head.anchor_time else None
        values["anchor_mac"] = seal.anchor_mac(key, head.anchor_id, head.anchor_hash, anchor_time)
    return values


def raise_high_water(head: Any, last_id: int, last_hash: str) -> None:
    """After the commit: record the newest row this instance wrote outside the database."""
    mark = highwater.Mark(last_id, last_hash, head.keyed_from)
    highwater.raise_mark(current_app._get_current_object(), audit_key(), mark)


_reported: set[tuple[int, str]] = set()


def _warn_if_tampered(key: bytes, head: Any) -> None:
    """Say at once (once per head state) when the head is not one a writer left; appending goes
    on, since the audit must not stop, and verify-audit names the damage."""
    problem = ""
    if head.head_mac is None and head.keyed_from <= head.last_id:
        problem = "its MAC is missing"
    elif head.head_mac is not None and not seal.matches(
        seal.head_mac(key, head.last_id, head.last_hash, head.keyed_from), head.head_mac
    ):
        problem = "it does not match its MAC"
    elif head.last_id < highwater.highest_written(current_app._get_current_object()):
        problem = "it is behind a row this process wrote (rewound)"
    if problem and (head.last_id, problem) not in _reported:
        _reported.add((head.last_id, problem))
        log.critical("audit chain head at row %s was tampered with: %s", head.last_id, problem)


def chain_rows(conn, head, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append ``rows`` after ``head`` (locked by the caller) in ``conn``'s transaction; return them
    as stored. One insert and one head update for the whole batch; the caller commits."""
    events, head_table = SecurityEvent.__table__, AuditChainHead.__table__
    key, last_id, last_hash = audit_key(), head.last_id, head.last_hash
    stored = []
    for row in rows:
        row = {**row, "id": last_id + 1, "timestamp": utcnow()}
        row["prev_hash"] = last_hash
        row["hash"] = event_hash(key, last_hash, row)
        last_id, last_hash = row["id"], row["hash"]
        stored.append(row)
    conn.execute(insert(events), [{**row, "resolved": False} for row in stored])
    conn.execute(
        update(head_table)
        .where(head_table.c.id == HEAD_ID)
        .values(**sealed_head(head, last_id, last_hash, stored[-1]["timestamp"]))
    )
    return stored


def append_batch(conn, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit writer's append: lock the chain once for the whole batch, commit, then raise
    the high-water mark to the batch's last row."""
    head = lock_chain(conn)
    stored = chain_rows(conn, head, rows)
    conn.commit()
    raise_high_water(head, stored[-1]["id"], stored[-1]["hash"])
    return stored


def _held_sqlite_write(conn) -> bool:
    dbapi = conn.connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


def _session_write_connection():
    """SQLite: the ORM session's connection when it holds the database's one write lock (an
    uncommitted write), else None. The writer would wait for that lock while this thread waited
    for the writer, so such a caller appends on its own connection, inside its transaction."""
    if db.engine.dialect.name != "sqlite" or not db.session.registry.has():
        return None
    session = db.session()
    if not session.in_transaction():
        return None
    conn = session.connection()
    return conn if _held_sqlite_write(conn) else None


def _append_in_held_transaction(conn, row: dict[str, Any]) -> dict[str, Any]:
    # The write lock is already ours, so no other writer (thread or process) is mid-batch and
    # the head can be read as it is; the row commits or rolls back with the caller's work, so
    # the high-water mark is left to the next batch the writer commits.
    _create_head(conn, audit_key())
    head_table = AuditChainHead.__table__
    head = conn.execute(select(head_table).where(head_table.c.id == HEAD_ID)).one()
    return chain_rows(conn, head, [row])[0]


def _append(row: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Store ``row`` through this process's writer; return (outcome, stored row or None)."""
    app = current_app._get_current_object()
    state = app.extensions.get(EXTENSION)
    writer: AuditWriter | None = state.audit_writer if state is not None else None
    held = _session_write_connection()
    if held is not None:
        return STORED, _append_in_held_transaction(held, row)
    if writer is None or writer.is_writer_thread():  # no writer (plugin not set up), or ourselves
        with db.engine.connect() as conn:
            return STORED, append_batch(conn, [row])[0]
    return writer.store(row, app.config["SECURITY_AUDIT_WAIT_SECONDS"])


def _request_defaults(ip: str | None, user_agent: str | None, user_id: int | None):
    if not has_request_context():
        return ip or "", user_agent or "", user_id
    from flask_login import current_user

    if user_id is None and current_user and current_user.is_authenticated:
        user_id = current_user.id
    agent = user_agent if user_agent is not None else request.user_agent.string
    return ip or request.remote_addr or "", agent, user_id


def _row(
    kind: EventType | str,
    severity: Severity | str,
    user: Any,
    user_id: int | None,
    ip: str | None,
    user_agent: str | None,
    description: str,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    kind, severity = EventType(kind), Severity(severity)
    if user is not None and user_id is None:
        user_id = getattr(user, "id", None)
    ip, user_agent, user_id = _request_defaults(ip, user_agent, user_id)
    return {
        "event_type": kind.value,
        "severity": severity.value,
        "user_id": user_id,
        "ip_address": clean_text(ip, 64),
        "user_agent": clean_text(user_agent, 300),
        "description": clean_text(description, 500),
        "metadata": clean_metadata(metadata or {}),
        "timestamp": utcnow(),
        "id": None,
    }


def append_event(
    kind: EventType | str,
    severity: Severity | str = Severity.LOW,
    *,
    user: Any = None,
    user_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> RecordedEvent | None:
    """Append one security event and return it as stored, to the caller only (None when
    recording is off or failed, or the event was counted as a repeat of one stored moments
    before). The pipeline's stages write with this: nothing is handed on to the next stage.

    Never raises for a storage problem: the JSON line is written even when the row cannot be.
    """
    row = _row(kind, severity, user, user_id, ip, user_agent, description, metadata)
    if repeats.absorbed(row):  # a repeat of a detection stored within its window: counted
        return None
    stored, outcome = False, FAILED
    if has_app_context() and current_app.config.get("SECURITY_AUDIT_ENABLED", True):
        try:
            outcome, written = _append(row)
            if written is not None:
                row, stored = written, True
        except Exception:  # the audit must never break the request that is being audited
            log.exception("could not store security event %s", row["event_type"])
    if outcome != LATE:  # a late row's line is written by the writer once its batch ends
        _write_siem_line(row, stored)
    if not stored:
        return None
    event = RecordedEvent(
        id=row["id"],
        event_type=row["event_type"],
        severity=row["severity"],
        user_id=row["user_id"],
        ip_address=row["ip_address"],
        user_agent=row["user_agent"],
        description=row["description"],
        metadata=row["metadata"],
        timestamp=row["timestamp"],
    )
    event_recorded.send(current_app._get_current_object(), event=event)
    return event


def log_event(
    kind: EventType | str,
    severity: Severity | str = Severity.LOW,
    *,
    user: Any = None,
    user_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> int | None:
    """Record one security event from outside the pipeline and hand it to the next stage; return
    its id (None when recording is off or failed, or the event was counted as a repeat).

    Never raises for a storage problem: the JSON line is written even when the row cannot be.
    """
    event = append_event(
        kind,
        severity,
        user=user,
        user_id=user_id,
        ip=ip,
        user_agent=user_agent,
        description=description,
        metadata=metadata,
    )
    if event is None:
        return None
    state = current_app.extensions.get(EXTENSION)
    next_stage = state.next_stage if state is not None else None
    if next_stage is not None:
        next_stage(event)
    return event.id


def _write_siem_line(row: dict[str, Any], stored: bool) -> None:
    line = {
        "event": row["event_type"],
        "severity": row["severity"],
        "id": row["id"],
        "time": canonical_time(row["timestamp"]) + "Z",
        "user_id": row["user_id"],
        "ip": row["ip_address"],
        "user_agent": row["user_agent"],
        "description": row["description"],
        "metadata": row["metadata"],
        # The running chain hash: an external copy of these lines proves the tail of the chain
        # (flask security verify-audit --siem FILE).
        "hash": row.get("hash"),
        "prev_hash": row.get("prev_hash"),
        "stored": stored,
    }
    siem.log(SIEM_LEVELS[row["severity"]], json.dumps(line, sort_keys=True, ensure_ascii=True))


def record_signal(sender: Flask, **kwargs: Any) -> None:
    """Receiver of the core's ``security_event`` signal."""
    log_event(
        kwargs["kind"],
        kwargs.get("severity", Severity.LOW),
        user=kwargs.get("user"),
        ip=kwargs.get("ip") or None,
        user_agent=kwargs.get("user_agent"),
        description=kwargs.get("description", ""),
        metadata=kwargs.get("metadata"),
    )


def _late_line(row: dict[str, Any], stored: bool) -> None:
    _write_siem_line(row, stored)


def new_writer(app: Flask) -> AuditWriter:
    """This process's audit writer for ``app`` (its thread starts with the first event)."""
    return AuditWriter(
        app,
        append_batch,
        _late_line,
        queue_size=app.config["SECURITY_AUDIT_QUEUE_SIZE"],
        batch_size=app.config["SECURITY_AUDIT_BATCH_SIZE"],
    )


def new_repeat_memory() -> RepeatMemory:
    """The memory of repeated detections: their counts are stored like any event from outside
    the pipeline, so that an alert grows by them."""
    return RepeatMemory(write=log_event)


def setup(app: Flask) -> None:
    """Record the core's security events of ``app`` (its state holds the key and the writer)."""
    security_event.connect(record_signal, sender=app)
