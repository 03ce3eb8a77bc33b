"""What the plugin keeps per app: one ``MfaState`` at ``app.extensions["plugin.mfa"]``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

EXTENSION = "plugin.mfa"


@dataclass(frozen=True)
class MfaState:
    """The cipher of this app's TOTP secrets (MFA_ENCRYPTION_KEYS, else keys derived from SECRET_KEY)."""

    fernet: MultiFernet


def state() -> MfaState:
    """The running app's MFA state (set by ``setup``)."""
    return current_app._get_current_object().extensions[EXTENSION]  # one proxy lookup
