"""The passkey table's queries: a user's passkeys, one by credential id, add, rename, remove."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import User, as_utc, utcnow
from plugins.mfa.models import MAX_PASSKEY_NAME, MfaPasskey


class DuplicatePasskey(Exception):
    """The credential id is registered already."""


# A user may register this many; options list them all for the browser to exclude or choose.
MAX_PASSKEYS_PER_USER = 20


def passkeys_of(user_id: int) -> list[MfaPasskey]:
    """The user's passkeys, oldest first."""
    return list(
        db.session.scalars(
            db.select(MfaPasskey).where(MfaPasskey.user_id == user_id).order_by(MfaPasskey.id)
        ).all()
    )


def has_passkey(user_id: int) -> bool:
    return (
        db.session.scalar(db.select(MfaPasskey.id).where(MfaPasskey.user_id == user_id).limit(1)) is not None
    )


def find(credential_id: bytes) -> MfaPasskey | None:
    return db.session.scalar(db.select(MfaPasskey).where(MfaPasskey.credential_id == credential_id))


def get_own(user_id: int, passkey_id: int) -> MfaPasskey | None:
    """The passkey ``passkey_id`` if it is ``user_id``'s (another user's is None, like no passkey)."""
    return db.session.scalar(
        db.select(MfaPasskey).where(MfaPasskey.id == passkey_id, MfaPasskey.user_id == user_id)
    )


def clean_name(name: str | None, fallback: str) -> str:
    """A passkey name without control characters, within the column's length."""
    text = "".join(ch for ch in (name or "") if ch.isprintable()).strip()
    return (text or fallback)[:MAX_PASSKEY_NAME]


def add(user: User, *, credential_id: bytes, public_key: bytes, user_handle: bytes, sign_count: int,
        transports: str, name: str | None) -> MfaPasskey:  # fmt: skip
    now = utcnow()
    passkey = MfaPasskey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=public_key,
        user_handle=user_handle,
        sign_count=sign_count,
        transports=transports[:200],
        name=clean_name(name, f"Passkey added {now:%Y-%m-%d}"),
        created_at=now,
    )
    db.session.add(passkey)
    try:
        db.session.commit()
    except IntegrityError:  # the same credential registered by a concurrent request
        db.session.rollback()
        raise DuplicatePasskey from None
    return passkey


def mark_used(passkey: MfaPasskey, sign_count: int, now: datetime) -> None:
    passkey.sign_count = sign_count
    passkey.last_used_at = now
    db.session.commit()


def rename(passkey: MfaPasskey, name: str) -> None:
    passkey.name = clean_name(name, passkey.name)
    db.session.commit()


def remove(passkey: MfaPasskey) -> None:
    db.session.delete(passkey)
    db.session.commit()


def rows(user_id: int) -> list[dict]:
    """The user's passkeys as the account page lists them."""
    return [
        {
            "id": passkey.id,
            "name": passkey.name,
            "created_at": as_utc(passkey.created_at),
            "last_used_at": as_utc(passkey.last_used_at) if passkey.last_used_at else None,
        }
        for passkey in passkeys_of(user_id)
    ]
