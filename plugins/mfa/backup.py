"""Backup codes: 10 single-use codes of 8 hex characters, kept only as salted scrypt hashes."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import utcnow
from plugins.mfa.models import MfaBackupCode

CODE_COUNT = 10
LOW_WATER_MARK = 3
BACKUP_PATTERN = re.compile(r"[0-9a-f]{8}")
# scrypt with n=2**13 costs ~40 ms a hash: a dump cannot be walked through the 2**32 codes
# cheaply, and a sign-in that checks up to ten unused codes stays well under a second.
HASH_METHOD = "scrypt:8192:8:1"


def new_codes() -> list[str]:
    return [secrets.token_hex(4) for _ in range(CODE_COUNT)]


def replace_codes(user_id: int) -> list[str]:
    """Delete the user's codes, store a fresh set (hashed) and return it in plain text, once."""
    db.session.execute(db.delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    codes = new_codes()
    db.session.add_all(
        MfaBackupCode(user_id=user_id, code_hash=generate_password_hash(code, method=HASH_METHOD))
        for code in codes
    )
    return codes


def remaining(user_id: int) -> int:
    return db.session.scalar(
        db.select(db.func.count(MfaBackupCode.id)).where(
            MfaBackupCode.user_id == user_id, MfaBackupCode.used_at.is_(None)
        )
    )


def use_code(user_id: int, code: str, now: datetime | None = None) -> bool:
    """Spend ``code`` if it is one of the user's unused codes; True when it was accepted.

    The UPDATE only succeeds on a row still unused, so two requests racing with the same code
    cannot both pass."""
    if not BACKUP_PATTERN.fullmatch(code):
        return False
    unused = db.session.scalars(
        db.select(MfaBackupCode).where(MfaBackupCode.user_id == user_id, MfaBackupCode.used_at.is_(None))
    ).all()
    # A wrong code is checked against every unused hash; stopping at a match leaks only which
    # of the caller's own valid codes it was.
    match = next((row for row in unused if check_password_hash(row.code_hash, code)), None)
    if match is None:
        return False
    result = db.session.execute(
        db.update(MfaBackupCode)
        .where(MfaBackupCode.id == match.id, MfaBackupCode.used_at.is_(None))
        .values(used_at=now or utcnow())
    )
    return result.rowcount == 1
