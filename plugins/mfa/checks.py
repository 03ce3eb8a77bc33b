"""Checking a second-factor code: TOTP with replay guard, backup codes, failures and lockout."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from app.events import EventType, Severity
from app.extensions import db
from app.models import User, as_utc, utcnow
from app.signals import emit_security_event
from plugins.mfa import backup
from plugins.mfa.crypto import SecretUnreadable, decrypt_secret
from plugins.mfa.models import MfaSecret
from plugins.mfa.totp import TOTP_PATTERN, match_code

log = logging.getLogger(__name__)

MAX_LOCK_EXPONENT = 20


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one code check; ``method`` is "totp" or "backup" when it passed."""

    ok: bool
    method: str | None = None
    locked_until: datetime | None = None
    backup_codes_left: int | None = None
    unreadable: bool = False  # the TOTP secret cannot be decrypted with the configured keys


def normalize_code(raw: str | None) -> str | None:
    """The code without spaces or dashes, lower case, or None if it cannot be a code at all."""
    text = re.sub(r"[\s-]", "", raw or "").lower()
    if TOTP_PATTERN.fullmatch(text) or backup.BACKUP_PATTERN.fullmatch(text):
        return text
    return None


def active_lock(record: MfaSecret | None, now: datetime) -> datetime | None:
    """When the user's lockout ends, if they are locked out at ``now``."""
    until = as_utc(record.locked_until) if record else None
    return until if until and until > now else None


def get_record(user_id: int) -> MfaSecret | None:
    """The user's MFA row (pending or enabled), if any."""
    return db.session.scalar(db.select(MfaSecret).where(MfaSecret.user_id == user_id))


def verify_code(user: User, code: str, *, now: datetime | None = None, stage: str = "sign-in") -> CheckResult:
    """Check a TOTP or backup code of a user with MFA on, counting failures towards a lockout."""
    now = now or utcnow()
    record = get_record(user.id)
    if record is None or not record.is_enabled:
        return CheckResult(ok=False)
    locked = active_lock(record, now)
    if locked:
        return CheckResult(ok=False, locked_until=locked)
    normalized = normalize_code(code)
    method = None
    replayed = False
    if normalized and TOTP_PATTERN.fullmatch(normalized):
        try:
            secret = decrypt_secret(record.secret_ciphertext)
        except SecretUnreadable:
            # The keys changed (MFA_ENCRYPTION_KEYS, or SECRET_KEY they derive from): not the
            # user's mistake, so not counted towards a lockout. Backup codes still work.
            log.error("MFA secret of user %s unreadable with the configured keys", user.id)
            return CheckResult(ok=False, unreadable=True)
        found = match_code(secret, normalized, at=now.timestamp(), last_step=record.last_used_step)
        replayed = found.replayed
        if found.step is not None:
            if _claim_step(record.id, found.step):
                method = "totp"
            else:  # another request used this step (or a later one) just now: a replay too
                replayed = True
    elif normalized and backup.use_code(user.id, normalized, now):
        method = "backup"
    if method is not None:
        db.session.execute(
            db.update(MfaSecret).where(MfaSecret.id == record.id).values(failed_attempts=0, locked_until=None)
        )
        db.session.commit()
        left = backup.remaining(user.id) if method == "backup" else None
        return CheckResult(ok=True, method=method, backup_codes_left=left)
    failures, locked = _record_failure(record.id, now)
    db.session.commit()
    emit_failure(user, stage, failed_attempts=failures, locked=locked is not None, replayed=replayed)
    return CheckResult(ok=False, locked_until=locked)


def _claim_step(record_id: int, step: int) -> bool:
    """Store ``step`` as the last one used unless that step (or a later one) was used already.

    One conditional UPDATE, so two processes given the same code cannot both accept it."""
    result = db.session.execute(
        db.update(MfaSecret)
        .where(
            MfaSecret.id == record_id,
            db.or_(MfaSecret.last_used_step.is_(None), MfaSecret.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _record_failure(record_id: int, now: datetime) -> tuple[int, datetime | None]:
    """Count one more wrong code; from the threshold on, lock for a wait that doubles each time."""
    db.session.execute(
        db.update(MfaSecret)
        .where(MfaSecret.id == record_id)
        .values(failed_attempts=MfaSecret.failed_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    failures = db.session.scalar(db.select(MfaSecret.failed_attempts).where(MfaSecret.id == record_id))
    config = current_app.config
    over = failures - config["MFA_LOCKOUT_THRESHOLD"]
    if over < 0:
        return failures, None
    seconds = min(
        config["MFA_LOCKOUT_SECONDS"] * 2 ** min(over, MAX_LOCK_EXPONENT), config["MFA_LOCKOUT_MAX_SECONDS"]
    )
    until = now + timedelta(seconds=seconds)
    db.session.execute(
        db.update(MfaSecret)
        .where(MfaSecret.id == record_id)
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return failures, until


def emit_failure(
    user: User, stage: str, *, failed_attempts: int | None, locked: bool, replayed: bool = False
) -> None:
    """Send MFA_FAILURE (never with the code itself); a right code used twice is marked a replay."""
    metadata: dict[str, Any] = {"stage": stage, "locked": locked}
    if failed_attempts is not None:
        metadata["failed_attempts"] = failed_attempts
    if replayed:
        metadata["replay"] = True
    emit_security_event(
        EventType.MFA_FAILURE,
        Severity.HIGH if locked else Severity.MEDIUM,
        user=user,
        description=("replayed" if replayed else "wrong")
        + f" two-factor code ({stage})"
        + ("; locked out" if locked else ""),
        metadata=metadata,
    )
