"""The audit chain against someone who can write the database: a recomputed chain, a truncated
tail behind a restored head, forged anchors, a legacy chain, and a SIEM copy as the witness."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.events import EventType, Severity
from app.extensions import db
from plugins.security import highwater, seal
from plugins.security.audit import canonical_time, event_hash, log_event
from plugins.security.chain import purge_events, verify_chain

pytestmark = pytest.mark.plugins("security")


def write(app, count: int, start: int = 0) -> None:
    with app.app_context():
        for n in range(start, start + count):
            log_event(EventType.LOGIN_FAILURE, Severity.MEDIUM, description=f"event {n}", metadata={"n": n})


def sql(app, statement: str, **params):
    with app.app_context():
        result = db.session.execute(text(statement), params)
        rows = result.mappings().all() if result.returns_rows else None
        db.session.commit()
        return rows


def head(app) -> dict:
    return dict(sql(app, "SELECT * FROM security_audit_chain")[0])


def restore_head(app, saved: dict) -> None:
    columns = ", ".join(f"{name} = :{name}" for name in saved if name != "id")
    sql(app, f"UPDATE security_audit_chain SET {columns} WHERE id = 1", **saved)


def report(app, siem_lines=None):
    with app.app_context():
        return verify_chain(siem_lines=siem_lines)


def content_of(row, **changes) -> dict:
    """A row read with plain SQL, as the hash sees it (SQLite returns JSON and times as text)."""
    metadata = row["metadata"]
    return {
        **row,
        "metadata": json.loads(metadata) if isinstance(metadata, str) else metadata,
        "timestamp": _as_datetime(row["timestamp"]),
        **changes,
    }


def unkeyed_rehash(app, from_id: int) -> str:
    """What an attacker without the key does: recompute SHA-256 from ``from_id`` to the end."""
    rows = sql(app, "SELECT * FROM security_events WHERE id >= :i ORDER BY id", i=from_id - 1)
    prev = rows[0]["hash"] if rows[0]["id"] == from_id - 1 else rows[0]["prev_hash"]
    for row in rows:
        if row["id"] < from_id:
            continue
        new_hash = event_hash(None, prev, content_of(row))
        sql(
            app,
            "UPDATE security_events SET prev_hash = :p, hash = :h WHERE id = :i",
            p=prev,
            h=new_hash,
            i=row["id"],
        )
        prev = new_hash
    return prev


def test_the_chain_is_keyed_by_an_instance_key_without_any_setting(app):
    assert not app.config.get("SECURITY_AUDIT_KEY")
    key_file = app.instance_path + "/audit-key"
    with open(key_file) as handle:
        assert len(handle.read().strip()) >= 32
    assert stat.S_IMODE(__import__("os").stat(key_file).st_mode) == 0o600
    write(app, 6)
    sql(app, "UPDATE security_events SET description = 'nothing happened' WHERE id = 3")
    last = unkeyed_rehash(app, 3)
    sql(app, "UPDATE security_audit_chain SET last_hash = :h", h=last)
    found = report(app)
    assert not found.ok and "forged chain head" in found.reason
    saved = head(app)
    sql(app, "UPDATE security_audit_chain SET head_mac = NULL")
    assert "MAC is missing" in report(app).reason
    restore_head(app, saved)


def test_a_restored_head_behind_a_deleted_tail_is_named_by_the_high_water_mark(app, runner):
    write(app, 4)
    old_head = head(app)  # copied while it was genuine: its MAC stays valid
    write(app, 2, start=4)
    sql(app, "DELETE FROM security_events WHERE id > 4")
    restore_head(app, old_head)
    result = runner.invoke(args=["security", "verify-audit"])
    assert result.exit_code == 1
    assert "row id=6" in result.output and "rewound chain head and truncated tail" in result.output
    # The writers go on after the rewind: the new row 5 and 6 are not the rows the mark names.
    write(app, 2, start=10)
    found = report(app)
    assert not found.ok and found.bad_id == 6 and "not the row this instance wrote" in found.reason


def test_the_head_cannot_be_moved_without_the_key(app):
    write(app, 6)
    row4 = sql(app, "SELECT hash FROM security_events WHERE id = 4")[0]["hash"]
    sql(app, "DELETE FROM security_events WHERE id > 4")
    sql(app, "UPDATE security_audit_chain SET last_id = 4, last_hash = :h", h=row4)
    found = report(app)
    assert not found.ok and "forged chain head: it does not match its MAC" in found.reason


@pytest.mark.parametrize("mac", ["keep", "null"])
def test_rows_deleted_from_the_start_behind_a_forged_anchor(app, mac):
    write(app, 6)
    row2 = sql(app, "SELECT hash FROM security_events WHERE id = 2")[0]["hash"]
    sql(app, "DELETE FROM security_events WHERE id <= 2")
    sql(app, "UPDATE security_audit_chain SET anchor_id = 2, anchor_hash = :h", h=row2)
    if mac == "null":
        sql(app, "UPDATE security_audit_chain SET anchor_mac = NULL")
    found = report(app)
    assert not found.ok and "forged purge anchor" in found.reason and found.bad_id == 2


def test_an_anchor_inside_the_retention_period_is_refused(app, runner):
    """Even sealed with the key (an operator's mistake, a stolen key), an anchor that covers
    recent events is reported; and the purge refuses a period shorter than the retention."""
    write(app, 4)
    with app.app_context():
        with pytest.raises(ValueError, match="shorter than SECURITY_EVENTS_RETENTION_DAYS"):
            purge_events(30)
    assert runner.invoke(args=["security", "purge-events", "--days", "30"]).exit_code == 2
    row = sql(app, "SELECT hash, timestamp FROM security_events WHERE id = 2")[0]
    with app.app_context():
        from plugins.security.audit import audit_key

        from_db = row["timestamp"]
        mac = seal.anchor_mac(audit_key(), 2, row["hash"], canonical_time(_as_datetime(from_db)))
    sql(app, "DELETE FROM security_events WHERE id <= 2")
    sql(
        app,
        "UPDATE security_audit_chain SET anchor_id = 2, anchor_hash = :h, anchor_time = :t, anchor_mac = :m",
        h=row["hash"],
        t=from_db,
        m=mac,
    )
    found = report(app)
    assert not found.ok and "covers events newer than the 90-day retention" in found.reason


def _as_datetime(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def test_purge_seals_the_anchor_with_its_time(app, monkeypatch):
    import plugins.security.audit as audit

    real_now = audit.utcnow
    monkeypatch.setattr(audit, "utcnow", lambda: real_now() - timedelta(days=200))
    write(app, 3)
    monkeypatch.setattr(audit, "utcnow", real_now)
    write(app, 2, start=3)
    with app.app_context():
        assert purge_events() == 3
    assert head(app)["anchor_mac"] and head(app)["anchor_time"] is not None
    assert report(app).ok
    # an older time would pass the retention check; the MAC covers it
    sql(app, "UPDATE security_audit_chain SET anchor_time = :t", t=datetime(2020, 1, 1, tzinfo=UTC))
    assert "forged purge anchor" in report(app).reason


@pytest.fixture
def siem_file(app, tmp_path):
    """The portal.security lines as a SIEM would keep them (a file outside the database)."""
    path = tmp_path / "siem.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("portal.security")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield path
    logger.removeHandler(handler)
    logger.setLevel(previous)
    handler.close()


def test_the_siem_copy_proves_the_tail_when_the_instance_folder_was_reached_too(app, runner, siem_file):
    write(app, 4)
    old_head = head(app)
    write(app, 2, start=4)
    sql(app, "DELETE FROM security_events WHERE id > 4")
    restore_head(app, old_head)
    highwater.mark_path(app).unlink()  # the attacker also cleared the instance's mark
    assert report(app).ok  # what the database and key alone can no longer show...
    result = runner.invoke(args=["security", "verify-audit", "--siem", str(siem_file)])
    assert result.exit_code == 1  # ...the SIEM copy shows
    assert "row id=6" in result.output and "SIEM copy has row 6" in result.output


def test_the_siem_copy_names_a_row_rewritten_with_the_key(app, siem_file):
    write(app, 5)
    with app.app_context():
        from plugins.security.audit import audit_key

        key = audit_key()
    row = sql(app, "SELECT * FROM security_events WHERE id = 5")[0]
    content = content_of(row, description="nothing happened")
    forged = event_hash(key, row["prev_hash"], content)
    sql(app, "UPDATE security_events SET description = 'nothing happened', hash = :h WHERE id = 5", h=forged)
    sql(
        app,
        "UPDATE security_audit_chain SET last_hash = :h, head_mac = :m",
        h=forged,
        m=seal.head_mac(key, 5, forged, 1),
    )
    highwater.mark_path(app).unlink()
    assert report(app).ok
    found = report(app, siem_file.read_text().splitlines())
    assert not found.ok and found.bad_id == 5 and "differs from its SIEM copy" in found.reason


def test_an_altered_siem_line_is_named_and_a_genuine_copy_passes(app, siem_file):
    write(app, 3)
    lines = siem_file.read_text().splitlines()
    intact = report(app, lines)
    assert intact.ok and "3 events compared with the SIEM copy" in intact.notes
    altered = [line.replace("event 1", "event 9") for line in lines]
    found = report(app, altered)
    assert not found.ok and "SIEM line 2 (row 2) does not match its hash" in found.reason


def test_a_chain_from_before_the_keyed_default_stays_verifiable(app):
    """Rows written by the old rule (plain SHA-256, head unsealed) verify; the first keyed row
    then pins them: rewriting one of them afterwards is caught at the link."""
    write(app, 3)
    last = unkeyed_rehash(app, 1)
    sql(
        app,
        "UPDATE security_audit_chain SET last_hash = :h, keyed_from = 4, head_mac = NULL, anchor_mac = NULL",
        h=last,
    )
    highwater.mark_path(app).unlink()
    legacy = report(app)
    assert legacy.ok and legacy.checked == 3
    assert any("not sealed yet" in note for note in legacy.notes)
    write(app, 2, start=3)
    sealed = head(app)
    assert sealed["head_mac"] and sealed["anchor_mac"] and sealed["keyed_from"] == 4
    keyed = report(app)
    assert keyed.ok and keyed.checked == 5
    assert any("before id 4 were written before the chain was keyed" in n for n in keyed.notes)
    sql(app, "UPDATE security_events SET description = 'nothing happened' WHERE id = 2")
    unkeyed_rehash(app, 2)  # rehashes 2..5, but row 4's MAC still names the old row 3
    found = report(app)
    assert not found.ok and found.bad_id == 4


def test_a_mark_edited_by_hand_is_reported(app):
    write(app, 2)
    path = highwater.mark_path(app)
    slot = json.loads(path.read_bytes()[: highwater.SLOT_SIZE])
    forged = {**slot, "last_id": 1, "last_hash": hashlib.sha256(b"x").hexdigest()}
    path.write_text(json.dumps(forged))  # lowered past the rows to be deleted, MAC kept
    found = report(app)
    assert not found.ok and "does not match its MAC" in found.reason


def test_the_mark_survives_a_torn_write_and_only_rises(app, tmp_path):
    from plugins.security.audit import audit_key

    write(app, 3)
    path = highwater.mark_path(app)
    with app.app_context():
        key = audit_key()
        highwater.raise_mark(app, key, highwater.Mark(2, "0" * 64, 1))  # lower: ignored
        assert highwater.read_mark(app, key).last_id == 3
        data = bytearray(path.read_bytes())
        newest = max(
            range(highwater.SLOTS), key=lambda i: json.loads(data[i * 256 : (i + 1) * 256])["last_id"]
        )
        data[newest * 256 : newest * 256 + 10] = b"\x00" * 10  # a crash in the middle of a write
        path.write_bytes(bytes(data))
        assert highwater.read_mark(app, key).last_id == 2  # the previous mark, still sealed


@pytest.mark.slow
def test_migration_0009_keeps_an_old_chain_verifiable(tmp_path):
    """A chain written before 0009 (plain SHA-256, no seals): after the upgrade its rows are
    checked by their rule, and the first event stored seals the head."""
    from flask_migrate import upgrade

    from app import create_app

    migrated = create_app(
        {
            "PORTAL_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "PORTAL_PLUGINS": "security",
        }
    )
    with migrated.app_context():
        upgrade(revision="0008_core_sessions")
        prev = "0" * 64
        for n in (1, 2, 3):
            row = {
                "id": n,
                "timestamp": datetime(2026, 11, 1, 12, n, tzinfo=UTC),
                "event_type": "LOGIN_FAILURE",
                "severity": "LOW",
                "user_id": None,
                "ip_address": "192.0.2.1",
                "user_agent": "",
                "description": f"old {n}",
                "metadata": {},
            }
            digest = event_hash(None, prev, row)
            db.session.execute(
                text(
                    "INSERT INTO security_events (id, user_id, event_type, severity, description, "
                    "ip_address, user_agent, metadata, timestamp, resolved, prev_hash, hash) VALUES "
                    "(:id, NULL, :event_type, :severity, :description, :ip_address, '', '{}', "
                    ":timestamp, 0, :prev, :hash)"
                ),
                {**row, "prev": prev, "hash": digest},
            )
            prev = digest
        db.session.execute(
            text("INSERT INTO security_audit_chain VALUES (1, 3, :h, 0, :g, NULL)"),
            {"h": prev, "g": "0" * 64},
        )
        db.session.commit()
        upgrade()
        assert db.session.execute(text("SELECT keyed_from FROM security_audit_chain")).scalar() == 4
        before = verify_chain()
        assert before.ok and before.checked == 3
        log_event(EventType.LOGOUT, description="first keyed event")
        after = verify_chain()
        assert after.ok and after.checked == 4
        db.engine.dispose()


@settings(max_examples=300, deadline=None)
@given(
    line=st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda prefix, body: prefix + json.dumps(body),
            st.text(max_size=20),
            st.dictionaries(
                st.sampled_from(["id", "time", "hash", "prev_hash", "stored", "event", "metadata"]),
                st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)),
            ),
        ),
    )
)
def test_any_siem_line_is_parsed_or_skipped_never_an_error(line):
    """A SIEM file is outside input: a line is an event, or it is skipped."""
    from plugins.security.siem_check import _parse

    parsed = _parse(line)
    assert parsed is None or isinstance(parsed[0]["id"], int)
