"""Repeated identical detections from one source are stored once per window, with a count.

A scanner sends the same probe hundreds of times; storing each would turn the audit log (and its
single chain lock) into the attacker's amplifier. On the request path, the first occurrence of a
detection from one source is stored at once; identical ones within SECURITY_REPEAT_WINDOW_SECONDS
are only counted in this process's memory. When the window has closed, the count is stored as
one more event of the same type, source and description, carrying ``repeats`` (how many
were not stored), ``first_seen`` and ``last_seen`` in its metadata: at the next occurrence, or
by the sweep that requests run at most once a second. Stored rows are never updated (the hash
chain is immutable), and the SIEM line follows the stored events, never the counted ones.

"Identical" means the same event type, severity, client IP, user, description and metadata
apart from what a scanner varies for free (the payload, the path, an inspected parameter's
name). Events outside a request
(jobs, the command line) are stored as they come, and so are the sign-in events the rules
count.

This module is part of the audit log's stage and sits below it: the audit log asks ``absorbed``
about each row, and gives the memory it creates the function that stores a count
(``RepeatMemory.write``, the audit log's ``log_event``), so nothing here imports the audit log.
A count is an event the audit log stores on its own, and it travels on to the pipeline's alert
stage like any event stored for a caller outside the pipeline (an alert grows by the count).
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_request_context

from app.events import EventType
from plugins.security.audit_record import canonical_time
from plugins.security.state import EXTENSION
from plugins.security.state_parts import RepeatMemory, Window

REPEATS = "repeats"  # metadata key of a count event; it is never aggregated itself
AGGREGATED_TYPES = frozenset(
    kind.value
    for kind in (
        EventType.SUSPICIOUS_ACTIVITY,
        EventType.SQL_INJECTION_ATTEMPT,
        EventType.XSS_ATTEMPT,
        EventType.CSRF_ATTEMPT,
        EventType.FILE_UPLOAD_ATTEMPT,
        EventType.ACCESS_DENIED,
        EventType.BRUTE_FORCE_ATTEMPT,
        EventType.TOR_EXIT_NODE,
        EventType.VPN_DETECTED,
        EventType.GEO_LOCATION_ANOMALY,
        EventType.UNUSUAL_TRAFFIC,
        EventType.SYSTEM_ERROR,  # a request that reliably fails would otherwise write each time
    )
)
# What a scanner varies for free between probes of one kind: never part of a detection's identity.
VARYING_METADATA = frozenset({"payload", "payload_digest", "path", "method", "parameter"})
SWEEP_SECONDS = 1.0


def _memory(app: Flask) -> RepeatMemory | None:
    """This app's memory, in the plugin's state (None before its setup, or without the plugin)."""
    state = app.extensions.get(EXTENSION)
    return state.repeats if state is not None else None


def identity(row: dict[str, Any]) -> str:
    """What makes two events the same detection from the same source."""
    metadata = {k: v for k, v in row["metadata"].items() if k not in VARYING_METADATA}
    # An inspection hit's description names its parameter; its metadata says all the rest.
    description = None if "attack" in metadata else row["description"]
    parts = [
        row["event_type"],
        row["severity"],
        row["ip_address"],
        row["user_id"],
        description,
        metadata,
    ]
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)


def absorbed(row: dict[str, Any]) -> bool:
    """Whether ``row`` repeats a detection stored within its window (then it is only counted)."""
    if row["event_type"] not in AGGREGATED_TYPES or REPEATS in row["metadata"]:
        return False
    if not has_request_context():
        return False
    config = current_app.config
    window = config.get("SECURITY_REPEAT_WINDOW_SECONDS", 0)
    if not window:
        return False
    app = current_app._get_current_object()
    memory = _memory(app)
    if memory is None:
        return False
    store, due = memory.admit(identity(row), row, window, config["SECURITY_REPEAT_MAX_KEYS"])
    _write_counts(memory, app, due)
    return not store


def sweep() -> None:
    """Write the counts of the windows that have closed (at most once a second per process)."""
    app = current_app._get_current_object()
    window = app.config.get("SECURITY_REPEAT_WINDOW_SECONDS", 0)
    memory = _memory(app)
    now = time.monotonic()
    if not window or memory is None or now < memory.next_sweep:
        return
    memory.next_sweep = now + SWEEP_SECONDS
    _write_counts(memory, app, memory.expired(window))


def flush(app: Flask) -> int:
    """Write every pending count now, closed or not (tests, shutdown); return how many."""
    memory = _memory(app)
    if memory is None:
        return 0
    with memory.lock:
        due = [item for item in memory.windows.values() if item.repeats]
        memory.windows.clear()
    _write_counts(memory, app, due)
    return len(due)


def _write_counts(memory: RepeatMemory, app: Flask, due: list[Window]) -> None:
    if due:
        # Outside the current request's context: the count belongs to its own source, and
        # log_event would fill in this request's address and user for fields left empty.
        contextvars.Context().run(_write_in_app_context, memory.write, app, due)


def _write_in_app_context(write: Callable[..., Any], app: Flask, due: list[Window]) -> None:
    with app.app_context():
        for item in due:
            row, seconds = item.row, (item.last_seen - item.first_seen).total_seconds()
            write(
                row["event_type"],
                row["severity"],
                user_id=row["user_id"],
                ip=row["ip_address"],
                user_agent=row["user_agent"],
                description=f"{row['description']} ({item.repeats} more like it in {seconds:.0f} s)",
                metadata={
                    **row["metadata"],
                    REPEATS: item.repeats,
                    "first_seen": canonical_time(item.first_seen) + "Z",
                    "last_seen": canonical_time(item.last_seen) + "Z",
                },
            )
