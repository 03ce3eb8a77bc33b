"""Encryption of TOTP secrets at rest: MultiFernet over MFA_ENCRYPTION_KEYS (newest first).

Without MFA_ENCRYPTION_KEYS the key is derived from SECRET_KEY (``app.keys``, purpose
``totp-encryption``). Secrets written under the earlier derivation (HKDF with the MFA plugin's
own salt) or under a key of SECRET_KEY_FALLBACKS stay readable; ``flask mfa rotate-keys``
re-encrypts them under the current key.
"""

from __future__ import annotations

import base64
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask

from app.keys import derive, derived_keys
from plugins.mfa.state import state

log = logging.getLogger(__name__)

PURPOSE = "totp-encryption"
# The derivation of the first releases, kept for reading (and rotating) what it encrypted.
LEGACY_HKDF_SALT = b"el-mag-portal/mfa"
LEGACY_HKDF_INFO = b"totp-secret-encryption-v1"


class SecretUnreadable(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def derive_key(secret_key: str) -> bytes:
    """The Fernet key derived from SECRET_KEY, for deployments without MFA_ENCRYPTION_KEYS."""
    return base64.urlsafe_b64encode(derive(secret_key, PURPOSE))


def legacy_key(secret_key: str) -> bytes:
    """The Fernet key the first releases derived from SECRET_KEY (read and rotated, never used
    to encrypt)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=LEGACY_HKDF_SALT, info=LEGACY_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))


def build_fernet(app: Flask) -> MultiFernet:
    """The app's MultiFernet; warn in production when the key is derived from SECRET_KEY."""
    keys = [key.encode("ascii") for key in app.config["MFA_ENCRYPTION_KEYS"]]
    if not keys:
        if app.config["PORTAL_ENV"] == "production":
            log.warning(
                "MFA_ENCRYPTION_KEYS is not set: TOTP secrets are encrypted with a key derived "
                "from SECRET_KEY, so changing SECRET_KEY makes them unreadable. Set "
                "MFA_ENCRYPTION_KEYS to a Fernet key of its own."
            )
        masters = [app.config["SECRET_KEY"], *app.config.get("SECRET_KEY_FALLBACKS", ())]
        keys = [base64.urlsafe_b64encode(key) for key in derived_keys(app, PURPOSE)]
        keys += [legacy_key(master) for master in masters]
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return state().fernet


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("no configured MFA key decrypts this secret") from None


def reencrypt(ciphertext: str) -> str:
    """The same secret encrypted under the newest key."""
    try:
        return _fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("no configured MFA key decrypts this secret") from None
