"""The passkey ceremonies' JSON endpoints under /api/v1/passkeys (CSRF token in X-CSRFToken).

Registration needs a recent sign-in (step-up re-authentication); ``/reauth/...`` is that
re-authentication's passkey (signed in: one of the user's own passkeys). Sign-in is public: with a
passkey alone (``step=first``, any discoverable passkey of this site) or as the second step
after the password (``step=second``, one of the waiting user's passkeys); either way it ends in
``complete_login``, the path a password sign-in takes.
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user

from app.access import public, safe_next_url
from app.api import API_PREFIX, json_body, json_error
from app.auth.reauth import reauth_required
from app.auth.service import complete_login
from app.extensions import db
from app.models import User
from plugins.mfa import passkey_reauth, passkey_signin, passkeys, pending
from plugins.mfa import passkey_store as store
from plugins.mfa.models import MAX_PASSKEY_NAME

# Outside /api/v1/mfa: the plugin declares /api/v1/passkeys as a root path of its own.
passkeys_api_bp = Blueprint("mfa_passkeys_api", __name__, url_prefix=f"{API_PREFIX}/passkeys")

SIGN_IN_EXPIRED = "your sign-in expired or was not started: start again at /auth/login"
MAX_NEXT_LENGTH = 2000


def _options(options_json: str):
    return jsonify(publicKey=json.loads(options_json))


def passkey_json(row: dict) -> dict:
    last = row["last_used_at"]
    return {
        "id": row["id"],
        "name": row["name"],
        "created_at": row["created_at"].isoformat(),
        "last_used_at": last.isoformat() if last else None,
    }


@passkeys_api_bp.route("/register/options", methods=["POST"])
@reauth_required(return_to="account.security")
def register_options():
    user = current_user._get_current_object()
    if len(store.passkeys_of(user.id)) >= store.MAX_PASSKEYS_PER_USER:
        return json_error(
            f"at most {store.MAX_PASSKEYS_PER_USER} passkeys per account: remove one first", "body"
        )
    return _options(passkeys.registration_options(user))


@passkeys_api_bp.route("/register/verify", methods=["POST"])
@reauth_required(return_to="account.security")
def register_verify():
    user = current_user._get_current_object()
    body = json_body()
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_PASSKEY_NAME):
        return json_error(f"name must be text of at most {MAX_PASSKEY_NAME} characters", "name")
    try:
        passkey = passkeys.finish_registration(user, body.get("credential"), name)
    except passkeys.PasskeyRefused as refusal:
        return json_error(refusal.message, "credential", refusal.status)
    row = next(row for row in store.rows(user.id) if row["id"] == passkey.id)
    response = jsonify(passkey=passkey_json(row))
    response.status_code = 201
    return response


@passkeys_api_bp.route("/signin/options", methods=["POST"])
@public
def signin_options():
    step = request.args.get("step", "first")
    if step not in ("first", "second"):
        return json_error("step must be one of: first, second", "step")
    if step == "first":
        return _options(passkey_signin.signin_options(None))
    state = pending.load()
    if state is None:
        return json_error(SIGN_IN_EXPIRED, status=401)
    return _options(passkey_signin.signin_options(state.user))


@passkeys_api_bp.route("/signin/verify", methods=["POST"])
@public
def signin_verify():
    body = json_body()
    next_url = body.get("next")
    if next_url is not None and (not isinstance(next_url, str) or len(next_url) > MAX_NEXT_LENGTH):
        return json_error(f"next must be a local path of at most {MAX_NEXT_LENGTH} characters", "next")
    if current_user.is_authenticated:
        return json_error("you are signed in already: sign out first", "body")
    waiting = pending.load()
    try:
        passkey, for_user = passkey_signin.finish_signin(body.get("credential"))
    except passkeys.PasskeyRefused as refusal:
        return json_error(refusal.message, "credential", refusal.status)
    if for_user is not None:  # the second step: the password step must still be waiting
        if waiting is None or waiting.user.id != for_user:
            return json_error(SIGN_IN_EXPIRED, status=401)
        next_url = waiting.next_url
    user = db.session.get(User, passkey.user_id)
    if user is None or not user.active:
        return json_error("this account cannot sign in", status=401)
    pending.clear()
    complete_login(user, method="passkey")
    return jsonify(redirect=safe_next_url(next_url) or url_for("core.home"))


@passkeys_api_bp.route("/reauth/options", methods=["POST"])
def reauth_options():
    user = current_user._get_current_object()
    if not store.has_passkey(user.id):
        return json_error("this account has no passkey: confirm with your password", "body")
    return _options(passkey_signin.signin_options(user, purpose="reauth"))


@passkeys_api_bp.route("/reauth/verify", methods=["POST"])
def reauth_verify():
    """Check the answer to the reauth options; the proof the re-authentication form carries."""
    user = current_user._get_current_object()
    body = json_body()
    try:
        _passkey, for_user = passkey_signin.finish_signin(body.get("credential"), purpose="reauth")
    except passkeys.PasskeyRefused as refusal:
        return json_error(refusal.message, "credential", refusal.status)
    if for_user != user.id:  # issued in this session for someone else (signed out and in meanwhile)
        return json_error("start again at /auth/reauth", status=401)
    return jsonify(proof=passkey_reauth.grant(user.id))
