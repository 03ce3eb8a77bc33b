"""MFA tables: one secret row per user (seed table ``auth_mfa_secrets``), hashed backup codes and
passkeys (WebAuthn credentials)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import utcnow


class MfaSecret(db.Model):
    """A user's TOTP secret (encrypted), whether MFA is on, replay and lockout state."""

    __tablename__ = "auth_mfa_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True)
    # A Fernet token (MultiFernet, key rotation by `flask mfa rotate-keys`); never the plain secret.
    secret_ciphertext: Mapped[str] = mapped_column(String(512))
    is_enabled: Mapped[bool] = mapped_column(default=False, index=True)
    # The newest TOTP time step accepted: that step and every earlier one are refused (replay).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MfaBackupCode(db.Model):
    """One single-use backup code, stored only as a salted scrypt hash."""

    __tablename__ = "auth_mfa_backup_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The WebAuthn limit on a credential id's length (a longer one is refused at registration).
MAX_CREDENTIAL_ID_BYTES = 1023
MAX_PASSKEY_NAME = 64


class MfaPasskey(db.Model):
    """A passkey: a WebAuthn credential's id and public key (COSE, as the authenticator gave it),
    its signature counter, how it is reached (transports) and the name the user gave it."""

    __tablename__ = "auth_mfa_passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(MAX_CREDENTIAL_ID_BYTES), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    # The user handle sent at registration: a discoverable credential hands it back at sign-in.
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64))
    # The authenticator's signature counter; a later answer with one not above it is a clone's.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    transports: Mapped[str] = mapped_column(String(200), default="", server_default="")
    name: Mapped[str] = mapped_column(String(MAX_PASSKEY_NAME))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
