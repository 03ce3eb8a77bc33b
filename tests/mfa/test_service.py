"""MFA service rules with explicit times: enrolment, storage at rest, backup codes, lockout."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import User
from plugins.mfa import backup, service
from plugins.mfa.checks import verify_code
from tests.mfa.conftest import code_at, kinds

pytestmark = pytest.mark.plugins("mfa")
NOW = datetime(2030, 1, 1, 12, 0, 5, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def enrol_at(user: User, when: datetime) -> tuple[str, list[str]]:
    secret = service.start_enrolment(user, now=when)
    codes = service.confirm_enrolment(user, code_at(secret, when.timestamp()), now=when)
    assert codes is not None
    return secret, codes


@pytest.fixture
def user(app, make_user):
    created = make_user("alice")
    with app.app_context():
        yield db.session.get(User, created.id)


def test_mfa_is_on_only_after_a_valid_code(app, user, events):
    secret = service.start_enrolment(user, now=NOW)
    assert not service.is_enabled(user.id)
    wrong = f"{(int(code_at(secret, NOW.timestamp())) + 1) % 1_000_000:06d}"
    assert service.confirm_enrolment(user, wrong, now=NOW) is None
    assert not service.is_enabled(user.id)
    assert kinds(events) == ["MFA_FAILURE"]
    assert service.confirm_enrolment(user, code_at(secret, NOW.timestamp()), now=NOW)
    assert service.is_enabled(user.id)
    assert kinds(events) == ["MFA_FAILURE", "MFA_ENABLED"]


def test_setup_reuses_a_recent_pending_secret_then_issues_a_fresh_one(user):
    first = service.start_enrolment(user, now=NOW)
    assert service.start_enrolment(user, now=at(60)) == first
    assert service.start_enrolment(user, now=at(16 * 60)) != first


def test_setup_refuses_when_mfa_is_already_on(user):
    enrol_at(user, NOW)
    assert service.start_enrolment(user, now=at(30)) is None


def test_enrolling_code_cannot_be_replayed_at_sign_in(user):
    secret, _ = enrol_at(user, NOW)
    assert not verify_code(user, code_at(secret, NOW.timestamp()), now=NOW).ok
    assert verify_code(user, code_at(secret, at(30).timestamp()), now=at(30)).ok


def test_database_holds_no_base32_secret_nor_backup_code(app, user):
    secret, codes = enrol_at(user, NOW)
    raw = db.session.execute(text("SELECT secret_ciphertext FROM auth_mfa_secrets")).scalar_one()
    assert secret not in raw
    assert secret.lower() not in raw.lower()
    assert not re.search(r"\b[A-Z2-7]{32}\b", raw)
    assert raw.startswith("gAAAAA")  # a Fernet token
    hashes = db.session.execute(text("SELECT code_hash FROM auth_mfa_backup_codes")).scalars().all()
    assert len(hashes) == 10
    assert all(hash_.startswith("scrypt:") for hash_ in hashes)
    assert len(set(hashes)) == 10  # salted: no two alike
    dump = "\n".join(hashes) + raw
    assert not any(code in dump for code in codes)


def test_replay_guard_is_in_the_database(user):
    secret, _ = enrol_at(user, NOW)
    code = code_at(secret, at(60).timestamp())
    assert verify_code(user, code, now=at(60)).ok
    stored = db.session.execute(text("SELECT last_used_step FROM auth_mfa_secrets")).scalar_one()
    assert stored == int(at(60).timestamp()) // 30
    user_id = user.id
    db.session.expunge_all()  # a second process would start from the database alone
    fresh = db.session.get(User, user_id)
    assert not verify_code(fresh, code, now=at(61)).ok
    assert not verify_code(fresh, code_at(secret, at(30).timestamp()), now=at(61)).ok


def test_a_replayed_code_is_recorded_as_a_replay_and_a_wrong_one_is_not(user, events):
    secret, _ = enrol_at(user, NOW)
    code = code_at(secret, at(60).timestamp())
    assert verify_code(user, code, now=at(60)).ok
    assert not verify_code(user, code, now=at(70)).ok
    replay = events[-1][1]
    assert replay["metadata"] == {"stage": "sign-in", "locked": False, "failed_attempts": 1, "replay": True}
    assert replay["description"] == "replayed two-factor code (sign-in)"
    assert code not in repr(replay)
    assert not verify_code(user, "000000" if code != "000000" else "111111", now=at(75)).ok
    assert "replay" not in events[-1][1]["metadata"]


def test_a_code_sent_twice_at_once_is_accepted_once_and_the_other_is_a_replay(app, user, events):
    """Two requests with the same code, racing on one database: one wins the step, the other's
    failure says replay, whichever check (the read or the conditional claim) caught it."""
    secret, _ = enrol_at(user, NOW)
    code = code_at(secret, at(60).timestamp())
    user_id = user.id
    barrier = threading.Barrier(2)

    def attempt() -> bool:
        with app.app_context():
            fresh = db.session.get(User, user_id)
            barrier.wait()
            return verify_code(fresh, code, now=at(60)).ok

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(lambda _: attempt(), range(2)))
    assert results == [False, True]
    failures = [kw for kind, kw in events if kind == "MFA_FAILURE"]
    assert len(failures) == 1 and failures[0]["metadata"]["replay"] is True


def test_backup_codes_are_ten_hex_codes_each_usable_once(user, events):
    _, codes = enrol_at(user, NOW)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-f]{8}", code) for code in codes)
    first = verify_code(user, codes[0].upper(), now=at(30))
    assert first.ok and first.method == "backup" and first.backup_codes_left == 9
    again = verify_code(user, codes[0], now=at(31))
    assert not again.ok
    assert kinds(events)[-1] == "MFA_FAILURE"
    assert service.status(user, now=at(32))["backup_codes_remaining"] == 9


def test_regenerating_invalidates_the_old_set(user):
    _, old = enrol_at(user, NOW)
    new = service.regenerate_backup_codes(user)
    assert len(new) == 10 and not set(new) & set(old)
    assert not verify_code(user, old[1], now=at(30)).ok
    assert verify_code(user, new[1], now=at(31)).ok


def test_status_warns_when_three_or_fewer_codes_remain(user):
    _, codes = enrol_at(user, NOW)
    for index, code in enumerate(codes[:7]):
        assert verify_code(user, code, now=at(30 + index)).ok
    status = service.status(user, now=at(60))
    assert status["backup_codes_remaining"] == 3 and status["backup_codes_low"]


@pytest.mark.config(MFA_LOCKOUT_THRESHOLD=5, MFA_LOCKOUT_SECONDS=60, MFA_LOCKOUT_MAX_SECONDS=300)
def test_lockout_after_repeated_failures_with_a_growing_wait(user, events):
    secret, _ = enrol_at(user, NOW)
    for attempt in range(4):
        assert verify_code(user, "000000", now=at(attempt)).locked_until is None
    fifth = verify_code(user, "000000", now=at(10))
    assert fifth.locked_until == at(10) + timedelta(seconds=60)
    # While locked even the right code is refused, and refusals are not counted again.
    locked = verify_code(user, code_at(secret, at(20).timestamp()), now=at(20))
    assert not locked.ok and locked.locked_until == fifth.locked_until
    sixth = verify_code(user, "000000", now=at(80))
    assert sixth.locked_until == at(80) + timedelta(seconds=120)
    seventh = verify_code(user, "000000", now=at(300))
    assert seventh.locked_until == at(300) + timedelta(seconds=240)
    eighth = verify_code(user, "000000", now=at(600))
    assert eighth.locked_until == at(600) + timedelta(seconds=300)  # capped
    assert kinds(events).count("MFA_FAILURE") == 8
    last = events[-1][1]
    assert last["metadata"] == {"stage": "sign-in", "locked": True, "failed_attempts": 8}
    assert "000000" not in repr(events)
    # After the wait, the right code passes and the count starts over.
    assert verify_code(user, code_at(secret, at(1000).timestamp()), now=at(1000)).ok
    assert db.session.execute(text("SELECT failed_attempts FROM auth_mfa_secrets")).scalar_one() == 0


def test_admin_unlock_clears_the_lockout(app, user, make_user):
    admin = db.session.get(User, make_user("root", role="admin").id)
    secret, _ = enrol_at(user, NOW)
    for attempt in range(5):
        verify_code(user, "000000", now=at(attempt))
    assert service.status(user, now=at(10))["locked_until"]
    assert service.admin_unlock(user, admin)
    assert service.status(user, now=at(10))["locked_until"] is None
    assert verify_code(user, code_at(secret, at(30).timestamp()), now=at(30)).ok
    assert not service.admin_unlock(user, admin)


def test_turning_off_removes_secret_and_codes(user, events):
    enrol_at(user, NOW)
    service.turn_off(user)
    assert not service.is_enabled(user.id)
    assert db.session.execute(text("SELECT count(*) FROM auth_mfa_backup_codes")).scalar_one() == 0
    assert kinds(events)[-1] == "MFA_DISABLED"


def test_adoption_by_role(app, user, make_user):
    admin = db.session.get(User, make_user("root", role="admin").id)
    make_user("bob")
    enrol_at(admin, NOW)
    enrol_at(user, NOW)
    figures = service.adoption()
    assert figures["total_users"] == 3 and figures["enabled_users"] == 2
    assert figures["by_role"] == {"client": {"users": 2, "enabled": 1}, "admin": {"users": 1, "enabled": 1}}
    assert figures["ratio"] == pytest.approx(2 / 3, abs=1e-3)


def test_backup_hash_format_is_salted_scrypt():
    stored = backup.generate_password_hash("abcd1234", method=backup.HASH_METHOD)
    assert stored.startswith("scrypt:8192:8:1$")
    assert backup.check_password_hash(stored, "abcd1234")
    assert not backup.check_password_hash(stored, "abcd1235")
