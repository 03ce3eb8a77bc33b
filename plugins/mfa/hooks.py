"""Wiring into one app: the secret cipher in the plugin's state, and the passkey settings checked."""

from __future__ import annotations

from flask import Flask

from plugins.mfa import policy
from plugins.mfa.crypto import build_fernet
from plugins.mfa.settings import check_relying_party
from plugins.mfa.state import EXTENSION, MfaState


def setup(app: Flask) -> None:
    """Build the secret cipher, check the passkey settings and add the required-roles policy."""
    app.extensions[EXTENSION] = MfaState(fernet=build_fernet(app))
    check_relying_party(app.config["WEBAUTHN_RP_ID"], app.config["WEBAUTHN_ORIGINS"])
    policy.init_app(app)
