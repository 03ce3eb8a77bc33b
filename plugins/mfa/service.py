"""MFA service: enrolment, turning off, admin reset and unlock, key rotation, status and adoption.

Public functions other code may call: ``is_enabled`` (TOTP), ``has_second_factor`` (TOTP or a
passkey), ``status`` and ``adoption`` (the figures the security dashboard shows, also published
as ``portal_mfa_adoption()``; a user with a passkey counts as enrolled).
Time-dependent functions take ``now`` so tests pass explicit times instead of sleeping.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from app.auth.service import end_all_sessions
from app.events import EventType, Severity
from app.extensions import db
from app.models import Role, User, as_utc, utcnow
from app.signals import emit_security_event
from plugins.mfa import backup
from plugins.mfa.checks import active_lock, emit_failure, get_record, normalize_code
from plugins.mfa.crypto import SecretUnreadable, decrypt_secret, encrypt_secret, reencrypt
from plugins.mfa.models import MfaBackupCode, MfaPasskey, MfaSecret
from plugins.mfa.passkey_store import has_passkey
from plugins.mfa.totp import TOTP_PATTERN, match_code, new_secret

log = logging.getLogger(__name__)

# A setup page reloaded within this time shows the same secret, so a QR code already scanned
# still matches; after it (or once MFA was turned off) the user gets a fresh secret.
SETUP_REUSE = timedelta(minutes=15)


def is_enabled(user_id: int) -> bool:
    """Whether the user has MFA turned on."""
    return bool(
        db.session.scalar(
            db.select(MfaSecret.id).where(MfaSecret.user_id == user_id, MfaSecret.is_enabled.is_(True))
        )
    )


def has_second_factor(user_id: int) -> bool:
    """Whether the user has TOTP on or a passkey: either is the second step after a password."""
    return is_enabled(user_id) or has_passkey(user_id)


def required_for(user: User) -> bool:
    """Whether MFA_REQUIRED_ROLES obliges ``user`` to use MFA."""
    return user.role in current_app.config["MFA_REQUIRED_ROLES"]


def start_enrolment(user: User, now: datetime | None = None) -> str | None:
    """The secret to enrol (stored encrypted until confirmed); None when MFA is already on."""
    now = now or utcnow()
    record = get_record(user.id)
    if record is not None and record.is_enabled:
        return None
    if record is not None and as_utc(record.created_at) > now - SETUP_REUSE:
        try:
            return decrypt_secret(record.secret_ciphertext)
        except SecretUnreadable:
            log.warning("pending MFA secret of user %s unreadable; issuing a new one", user.id)
    secret = new_secret()
    if record is None:
        record = MfaSecret(user_id=user.id)
        db.session.add(record)
    record.secret_ciphertext = encrypt_secret(secret)
    record.created_at = now
    record.last_used_step = None
    db.session.commit()
    return secret


def confirm_enrolment(user: User, code: str, now: datetime | None = None) -> list[str] | None:
    """Turn MFA on if ``code`` matches the pending secret; return the new backup codes."""
    now = now or utcnow()
    record = get_record(user.id)
    normalized = normalize_code(code)
    step = None
    replayed = False
    if record is not None and not record.is_enabled and normalized and TOTP_PATTERN.fullmatch(normalized):
        try:
            secret = decrypt_secret(record.secret_ciphertext)
        except SecretUnreadable:  # the keys changed since the setup page: it issues a new secret
            log.warning("pending MFA secret of user %s unreadable; the setup page issues a new one", user.id)
        else:
            found = match_code(secret, normalized, at=now.timestamp(), last_step=record.last_used_step)
            step, replayed = found.step, found.replayed
    if step is None:
        emit_failure(user, "setup", failed_attempts=None, locked=False, replayed=replayed)
        return None
    record.is_enabled = True
    record.enabled_at = now
    record.last_used_step = step  # the confirming code cannot be replayed at the next sign-in
    record.failed_attempts = 0
    record.locked_until = None
    codes = backup.replace_codes(user.id)
    db.session.commit()
    emit_security_event(
        EventType.MFA_ENABLED, Severity.MEDIUM, user=user, description="two-factor sign-in turned on"
    )
    return codes


def regenerate_backup_codes(user: User) -> list[str] | None:
    """A fresh set of backup codes (the old set stops working); None when MFA is off."""
    if not is_enabled(user.id):
        return None
    codes = backup.replace_codes(user.id)
    db.session.commit()
    log.info("backup codes regenerated for user %s", user.id)
    return codes


def _remove(user_id: int) -> None:
    db.session.execute(db.delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    db.session.execute(db.delete(MfaSecret).where(MfaSecret.user_id == user_id))


def turn_off(user: User) -> None:
    """Remove the user's secret and backup codes (the caller checked password and code)."""
    _remove(user.id)
    db.session.commit()
    emit_security_event(
        EventType.MFA_DISABLED, Severity.HIGH, user=user, description="two-factor sign-in turned off"
    )


def admin_reset(target: User, admin: User | None) -> bool:
    """Remove ``target``'s MFA and end all their sessions (``admin`` None: the command line).

    Returns False when the user had no MFA set up."""
    if get_record(target.id) is None:
        return False
    _remove(target.id)
    db.session.commit()
    end_all_sessions(target, reason="MFA reset by an admin")
    actor = admin.username if admin is not None else "the command line"
    emit_security_event(
        EventType.MFA_DISABLED,
        Severity.HIGH,
        user=admin,
        description=f"MFA of {target.username} reset by {actor}",
        metadata={"target_user_id": target.id, "target_username": target.username, "reset_by": actor},
    )
    return True


def admin_unlock(target: User, admin: User) -> bool:
    """Clear ``target``'s wrong-code count and lockout; False if there was nothing to clear."""
    record = get_record(target.id)
    if record is None or (not record.failed_attempts and record.locked_until is None):
        return False
    record.failed_attempts = 0
    record.locked_until = None
    db.session.commit()
    emit_security_event(
        EventType.PERMISSION_CHANGE,
        Severity.MEDIUM,
        user=admin,
        description=f"MFA lockout of {target.username} lifted by {admin.username}",
        metadata={"target_user_id": target.id, "target_username": target.username, "action": "mfa_unlock"},
    )
    return True


def rotate_keys(batch_size: int = 200) -> tuple[int, int]:
    """Re-encrypt every stored secret under the newest key; return (rotated, unreadable)."""
    rotated = unreadable = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            db.select(MfaSecret).where(MfaSecret.id > last_id).order_by(MfaSecret.id).limit(batch_size)
        ).all()
        if not rows:
            return rotated, unreadable
        for row in rows:
            last_id = row.id
            try:
                row.secret_ciphertext = reencrypt(row.secret_ciphertext)
                rotated += 1
            except SecretUnreadable:
                unreadable += 1
                log.error("MFA secret of user %s is readable with none of MFA_ENCRYPTION_KEYS", row.user_id)
        db.session.commit()


def status(user: User, now: datetime | None = None) -> dict[str, Any]:
    """The user's MFA status: on or off, backup codes left, lockout, whether policy requires it."""
    now = now or utcnow()
    record = get_record(user.id)
    enabled = bool(record and record.is_enabled)
    locked = active_lock(record, now)
    enabled_at = as_utc(record.enabled_at) if enabled else None
    left = backup.remaining(user.id) if enabled else 0
    return {
        "enabled": enabled,
        "required": required_for(user),
        "enabled_at": enabled_at.isoformat() if enabled_at else None,
        "backup_codes_remaining": left,
        "backup_codes_low": enabled and left <= backup.LOW_WATER_MARK,
        "locked_until": locked.isoformat() if locked else None,
    }


def adoption() -> dict[str, Any]:
    """Active users with MFA (TOTP on or a passkey), overall and by role, from one grouped query."""
    totp = db.exists().where(MfaSecret.user_id == User.id, MfaSecret.is_enabled.is_(True))
    passkey = db.exists().where(MfaPasskey.user_id == User.id)
    rows = db.session.execute(
        db.select(
            User.role,
            db.func.count(User.id),
            db.func.sum(db.case((db.or_(totp, passkey), 1), else_=0)),
            db.func.sum(db.case((passkey, 1), else_=0)),
        )
        .where(User.active.is_(True))
        .group_by(User.role)
    ).all()
    by_role = {role.value: {"users": 0, "enabled": 0} for role in Role}
    with_passkey = 0
    for role, users, with_mfa, passkeys in rows:
        by_role[role] = {"users": users, "enabled": int(with_mfa or 0)}
        with_passkey += int(passkeys or 0)
    total = sum(item["users"] for item in by_role.values())
    on = sum(item["enabled"] for item in by_role.values())
    return {
        "total_users": total,
        "enabled_users": on,
        "passkey_users": with_passkey,
        "ratio": round(on / total, 4) if total else 0.0,
        "by_role": by_role,
        "required_roles": list(current_app.config["MFA_REQUIRED_ROLES"]),
    }
