"""Passkey sign-in (WebAuthn through py_webauthn): with a passkey alone, or as the second step
after the password. Refusals that point at an attack are recorded (``passkeys.record_refusal``)."""

from __future__ import annotations

import hmac
from typing import Any

from webauthn import generate_authentication_options, options_to_json, verify_authentication_response
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticationCredential, UserVerificationRequirement

from app.extensions import db
from app.models import User, utcnow
from plugins.mfa import passkey_challenges as challenges
from plugins.mfa import passkey_store as store
from plugins.mfa.models import MfaPasskey
from plugins.mfa.passkeys import (
    BAD_ANSWER,
    TIMEOUT_MS,
    PasskeyRefused,
    check_origin_and_rp,
    descriptors,
    parse_answer,
    record_refusal,
    relying_party,
    take_challenge,
)


def signin_options(user: User | None, purpose: str = "signin") -> str:
    """Options for navigator.credentials.get() (JSON text): any discoverable passkey of this
    site, or (``user`` given: the second sign-in step, or ``purpose="reauth"``: confirming it
    is them at re-authentication) one of that user's."""
    rp = relying_party()
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenges.issue(purpose, user.id if user is not None else None),
        timeout=TIMEOUT_MS,
        allow_credentials=descriptors(store.passkeys_of(user.id)) if user is not None else None,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def finish_signin(answer: Any, purpose: str = "signin") -> tuple[MfaPasskey, int | None]:
    """Verify the answer to ``signin_options`` of the same ``purpose``; return the passkey (its
    counter and last use updated) and the user id the challenge was issued for, if any."""
    challenge = take_challenge(purpose)
    credential = parse_answer(parse_authentication_credential_json, answer)
    passkey = store.find(credential.raw_id)
    expected = db.session.get(User, challenge.user_id) if challenge.user_id is not None else None
    stage = "reauth" if purpose == "reauth" else "second step" if challenge.user_id is not None else "sign-in"
    try:
        if passkey is None:
            raise PasskeyRefused("this passkey is not registered here", "unknown_credential")
        if challenge.user_id is not None and passkey.user_id != challenge.user_id:
            raise PasskeyRefused("this passkey belongs to another account", "wrong_account")
        handle = credential.response.user_handle
        if handle is not None and not hmac.compare_digest(handle, passkey.user_handle):
            raise PasskeyRefused("the passkey answered for another account", "user_handle")
        _verify_assertion(credential, passkey, challenge.value)
    except PasskeyRefused as refusal:
        owner = db.session.get(User, passkey.user_id) if passkey is not None else expected
        record_refusal(refusal, owner, stage, passkey.id if passkey is not None else None)
        raise
    return passkey, challenge.user_id


def _verify_assertion(credential: AuthenticationCredential, passkey: MfaPasskey, challenge: bytes) -> None:
    rp = relying_party()
    try:
        client_data = parse_client_data_json(credential.response.client_data_json)
        auth_data = parse_authenticator_data(credential.response.authenticator_data)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        raise PasskeyRefused(BAD_ANSWER, "invalid") from None
    check_origin_and_rp(client_data.origin, auth_data.rp_id_hash, rp)
    stored = passkey.sign_count or 0
    if (auth_data.sign_count > 0 or stored > 0) and auth_data.sign_count <= stored:
        raise PasskeyRefused(
            "this passkey's signature counter went backwards: it may have been copied. "
            "Remove it and add it again, or use another one",
            "counter",
        )
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=passkey.public_key,
            credential_current_sign_count=stored,
            require_user_verification=True,
        )
    except WebAuthnException:
        raise PasskeyRefused(BAD_ANSWER, "invalid") from None
    store.mark_used(passkey, verified.new_sign_count, utcnow())
