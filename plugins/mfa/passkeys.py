"""Passkeys (WebAuthn through py_webauthn): the relying party, refusals, and registration
(sign-in is ``plugins.mfa.passkey_signin``).

Discoverable credentials with user verification, always: a passkey proves something the user
has (the authenticator) and something she is or knows (its biometric or PIN), so a sign-in
with one alone counts as both factors. Refused answers raise ``PasskeyRefused``; those that
point at an attack (an unknown credential, another origin or relying party, a signature counter
that went backwards, a replayed challenge) are recorded as security events.

The relying party is ``WEBAUTHN_RP_ID`` and ``WEBAUTHN_ORIGINS``, by default the request's own
host and origin (so that http://localhost:5000 works in development).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request
from webauthn import (
    generate_registration_options,
    options_to_json,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_attestation_object,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.auth.service import keyed_digest
from app.events import EventType, Severity
from app.models import User
from app.signals import emit_security_event
from plugins.mfa import passkey_challenges as challenges
from plugins.mfa import passkey_store as store
from plugins.mfa.models import MAX_CREDENTIAL_ID_BYTES, MfaPasskey

RP_NAME = "El-Mag Client Portal"
TIMEOUT_MS = challenges.CHALLENGE_TTL_S * 1000
BAD_ANSWER = "the passkey's answer could not be verified: try again"

# What each refusal records: the event, its severity and what it says (None: no event).
RECORDED: dict[str, tuple[EventType, Severity, str]] = {
    "unknown_credential": (
        EventType.MFA_FAILURE,
        Severity.MEDIUM,
        "sign-in with a passkey the portal does not know",
    ),
    "wrong_account": (
        EventType.MFA_FAILURE,
        Severity.MEDIUM,
        "a passkey of another account at the second step",
    ),
    "user_handle": (EventType.MFA_FAILURE, Severity.MEDIUM, "a passkey answered for another account"),
    "origin": (EventType.SUSPICIOUS_ACTIVITY, Severity.MEDIUM, "passkey answer from an unexpected origin"),
    "rp_id": (EventType.SUSPICIOUS_ACTIVITY, Severity.MEDIUM, "passkey answer for another relying party"),
    "counter": (
        EventType.SUSPICIOUS_ACTIVITY,
        Severity.HIGH,
        "passkey signature counter went backwards (a cloned authenticator?)",
    ),
    "replay": (EventType.SUSPICIOUS_ACTIVITY, Severity.MEDIUM, "a passkey answer was sent again"),
    "invalid": (EventType.MFA_FAILURE, Severity.MEDIUM, "passkey answer not valid"),
}


class PasskeyRefused(Exception):
    """A ceremony's answer was refused: ``message`` for the user, ``reason`` for the audit."""

    def __init__(self, message: str, reason: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.reason, self.status = message, reason, status


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origins: tuple[str, ...]


def relying_party() -> RelyingParty:
    """The configured relying party, or this request's host and origin."""
    config = current_app.config
    rp_id = config["WEBAUTHN_RP_ID"] or (urlsplit(request.host_url).hostname or "")
    origins = tuple(config["WEBAUTHN_ORIGINS"]) or (request.host_url.rstrip("/"),)
    return RelyingParty(rp_id, origins)


def user_handle(user: User) -> bytes:
    """The WebAuthn user id of ``user``: stable, and not their name or database id."""
    return keyed_digest(f"webauthn-user:{user.id}", 32).encode()


def record_refusal(
    refusal: PasskeyRefused, user: User | None, stage: str, passkey_id: int | None = None
) -> None:
    """Audit a refusal that points at an attack (an unknown credential, another origin...)."""
    recorded = RECORDED.get(refusal.reason)
    if recorded is None:
        return
    kind, severity, description = recorded
    metadata: dict[str, Any] = {"method": "passkey", "stage": stage, "reason": refusal.reason}
    if passkey_id is not None:
        metadata["passkey_id"] = passkey_id
    emit_security_event(kind, severity, user=user, description=f"{description} ({stage})", metadata=metadata)


def descriptors(passkeys: list[MfaPasskey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=passkey.credential_id, transports=_transports(passkey.transports))
        for passkey in passkeys
    ]


def _transports(text: str) -> list[AuthenticatorTransport] | None:
    known = {transport.value for transport in AuthenticatorTransport}
    found = [AuthenticatorTransport(name) for name in text.split(",") if name in known]
    return found or None


# --- registration ----------------------------------------------------------------------------


def registration_options(user: User) -> str:
    """Options for navigator.credentials.create() (JSON text); the challenge goes into the session."""
    rp = relying_party()
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=user_handle(user),
        user_display_name=user.username,
        challenge=challenges.issue("register", user.id),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=descriptors(store.passkeys_of(user.id)),
    )
    return options_to_json(options)


def finish_registration(user: User, answer: Any, name: str | None) -> MfaPasskey:
    """Verify the answer to ``registration_options`` and store the passkey."""
    challenge = take_challenge("register")
    if challenge.user_id != user.id:
        raise PasskeyRefused("no passkey registration is in progress: start again", "challenge")
    rp = relying_party()
    credential = parse_answer(parse_registration_credential_json, answer)
    try:
        _check_registration_context(credential, rp)
    except PasskeyRefused as refusal:
        if refusal.reason in ("origin", "rp_id"):
            record_refusal(refusal, user, "register")
        raise
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge.value,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=True,
        )
    except WebAuthnException:
        raise PasskeyRefused(BAD_ANSWER, "invalid") from None
    if len(verified.credential_id) > MAX_CREDENTIAL_ID_BYTES:
        raise PasskeyRefused("the passkey's id is longer than WebAuthn allows", "invalid")
    if store.find(verified.credential_id) is not None:
        raise PasskeyRefused("this passkey is already registered", "duplicate")
    transports = credential.response.transports or []
    try:
        passkey = store.add(
            user,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            user_handle=user_handle(user),
            sign_count=verified.sign_count,
            transports=",".join(transport.value for transport in transports),
            name=name,
        )
    except store.DuplicatePasskey:
        raise PasskeyRefused("this passkey is already registered", "duplicate") from None
    emit_security_event(
        EventType.MFA_ENABLED,
        Severity.MEDIUM,
        user=user,
        description=f"passkey added: {passkey.name}",
        metadata={"method": "passkey", "passkey_id": passkey.id},
    )
    return passkey


def _check_registration_context(credential: RegistrationCredential, rp: RelyingParty) -> None:
    """Name the refusals that matter (origin, relying party) before the library's whole check."""
    try:
        client_data = parse_client_data_json(credential.response.client_data_json)
        auth_data = parse_attestation_object(credential.response.attestation_object).auth_data
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyRefused(BAD_ANSWER, "invalid") from None
    check_origin_and_rp(client_data.origin, auth_data.rp_id_hash, rp)


def check_origin_and_rp(origin: str, rp_id_hash: bytes, rp: RelyingParty) -> None:
    if origin not in rp.origins:
        raise PasskeyRefused(
            f"the passkey answered for {origin[:100]!r}, not for this site ({', '.join(rp.origins)})",
            "origin",
        )
    if not hmac.compare_digest(rp_id_hash, hashlib.sha256(rp.id.encode()).digest()):
        raise PasskeyRefused(f"the passkey answered for another relying party than {rp.id!r}", "rp_id")


# --- shared ----------------------------------------------------------------------------------


def take_challenge(purpose: str) -> challenges.Challenge:
    try:
        return challenges.take(purpose)
    except challenges.ChallengeMissing as missing:
        refusal = PasskeyRefused(str(missing), "replay" if missing.replayed else "challenge")
        if missing.replayed:
            record_refusal(refusal, None, purpose)
        raise refusal from None


def parse_answer(parser, answer: Any):
    """The credential the browser sent, parsed by py_webauthn; a malformed one is a 400."""
    if not isinstance(answer, dict):
        raise PasskeyRefused(
            "credential must be the JSON form of the browser's PublicKeyCredential", "malformed"
        )
    try:
        credential = parser(answer)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyRefused("credential is not a well-formed PublicKeyCredential", "malformed") from None
    if len(credential.raw_id) > MAX_CREDENTIAL_ID_BYTES:
        raise PasskeyRefused("credential id is longer than WebAuthn allows", "malformed")
    return credential
