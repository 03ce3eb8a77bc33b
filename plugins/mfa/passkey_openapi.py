"""The passkey endpoints' part of the OpenAPI document (merged into the mfa plugin's answer)."""

from __future__ import annotations

from app.api import error_response
from app.auth.reauth import REAUTH_REQUIRED_SCHEMA

TAG = {"name": "passkeys", "description": "Passkeys (WebAuthn): registration and sign-in ceremonies"}
CSRF = " Needs the session's CSRF token in the X-CSRFToken header."

OPTIONS_SCHEMA = {
    "type": "object",
    "required": ["publicKey"],
    "properties": {
        "publicKey": {
            "type": "object",
            "required": ["challenge"],
            "description": "WebAuthn options in their JSON form (base64url for binary values), for "
            "PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON",
            "properties": {
                "challenge": {"type": "string", "description": "base64url; single-use, valid 2 minutes"},
                "rpId": {"type": "string"},
                "timeout": {"type": "integer"},
                "userVerification": {"type": "string", "const": "required"},
            },
        }
    },
}
CREDENTIAL_SCHEMA = {
    "type": "object",
    "description": "The browser's PublicKeyCredential as JSON (PublicKeyCredential.toJSON())",
    "required": ["id", "rawId", "type", "response"],
    "properties": {
        "id": {"type": "string"},
        "rawId": {"type": "string", "description": "base64url"},
        "type": {"type": "string", "const": "public-key"},
        "response": {"type": "object"},
    },
}
PASSKEY_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "created_at", "last_used_at"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string", "maxLength": 64},
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
    },
    "additionalProperties": False,
}
REFUSED = error_response(
    "Refused: a malformed body or credential, no ceremony in progress, an expired or reused "
    "challenge, an unknown passkey, another origin or relying party, a signature counter that "
    "went backwards (field names the part)"
)
# Anonymous: the access guard's answer; signed in too long ago: re-authenticate first.
SIGN_IN_OR_REAUTH = {
    "description": "Not signed in, or not within REAUTH_TIMEOUT_SECONDS (re-authenticate at reauth_url)",
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    REAUTH_REQUIRED_SCHEMA,
                    {
                        "type": "object",
                        "required": ["error", "login_url"],
                        "properties": {"error": {"type": "string"}, "login_url": {"type": "string"}},
                    },
                ]
            }
        }
    },
}
CSRF_REFUSED = error_response("Refused: no valid CSRF token in X-CSRFToken (or a malformed body)")


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _operation(operation_id: str, summary: str, responses: dict, **extra) -> dict:
    return {"post": {"tags": ["passkeys"], "summary": summary + CSRF, "operationId": operation_id,
                     "responses": responses, **extra}}  # fmt: skip


OPTIONS = {"$ref": "#/components/schemas/PasskeyOptions"}
CREDENTIAL = {"$ref": "#/components/schemas/PasskeyCredential"}

PATHS = {
    "/passkeys/register/options": _operation(
        "passkeyRegisterOptions",
        "Start adding a passkey: options for navigator.credentials.create() (discoverable, "
        "user verification required). Needs a recent sign-in.",
        {
            "200": _json(OPTIONS, "Creation options"),
            "400": error_response(
                "Refused: no valid CSRF token, or the account has the most passkeys allowed"
            ),
            "401": SIGN_IN_OR_REAUTH,
        },
    ),
    "/passkeys/register/verify": _operation(
        "passkeyRegisterVerify",
        "Finish adding a passkey: the browser's answer to the creation options. Needs a recent sign-in.",
        {
            "201": _json(
                {
                    "type": "object",
                    "required": ["passkey"],
                    "properties": {"passkey": {"$ref": "#/components/schemas/Passkey"}},
                },
                "The passkey was added",
            ),  # fmt: skip
            "400": REFUSED,
            "401": SIGN_IN_OR_REAUTH,
            "415": error_response("The body is not JSON"),
        },
        requestBody=_body(
            {
                "type": "object",
                "required": ["credential"],
                "properties": {
                    "credential": CREDENTIAL,
                    "name": {"type": "string", "maxLength": 64, "description": "What to call the passkey"},
                },
            }
        ),
    ),
    "/passkeys/signin/options": _operation(
        "passkeySigninOptions",
        "Start signing in with a passkey: options for navigator.credentials.get(). step=first: "
        "with a passkey alone (any discoverable passkey of this site); step=second: the second "
        "step after the password (one of the waiting user's passkeys).",
        {
            "200": _json(OPTIONS, "Request options"),
            "400": CSRF_REFUSED,
            "401": error_response("step=second, but no sign-in waits for its second step (or it expired)"),
        },
        parameters=[
            {
                "name": "step",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["first", "second"], "default": "first"},
            }
        ],
    ),
    "/passkeys/signin/verify": _operation(
        "passkeySigninVerify",
        "Finish signing in with a passkey: the browser's answer to the request options. Signs "
        "the browser in (both factors: no code step follows).",
        {
            "200": _json(
                {
                    "type": "object",
                    "required": ["redirect"],
                    "properties": {"redirect": {"type": "string", "description": "Where to go now"}},
                },
                "Signed in",
            ),  # fmt: skip
            "400": REFUSED,
            "401": error_response("The second step's sign-in expired, or the account cannot sign in"),
            "415": error_response("The body is not JSON"),
        },
        requestBody=_body(
            {
                "type": "object",
                "required": ["credential"],
                "properties": {
                    "credential": CREDENTIAL,
                    "next": {"type": "string", "maxLength": 2000, "description": "A local path to go to"},
                },
            }
        ),
    ),
    "/passkeys/reauth/options": _operation(
        "passkeyReauthOptions",
        "Start confirming it is you with a passkey at re-authentication (/auth/reauth): options "
        "for navigator.credentials.get() limited to the signed-in user's passkeys.",
        {
            "200": _json(OPTIONS, "Request options"),
            "400": error_response("Refused: no valid CSRF token, or the account has no passkey"),
            "401": error_response("Not signed in"),
        },
    ),
    "/passkeys/reauth/verify": _operation(
        "passkeyReauthVerify",
        "Finish confirming with a passkey: the browser's answer to the reauth options. Answers a "
        "proof, short-lived and single-use, that the re-authentication form sends in its code "
        "field with the password.",
        {
            "200": _json(
                {
                    "type": "object",
                    "required": ["proof"],
                    "properties": {"proof": {"type": "string", "description": "The form's code"}},
                },
                "The passkey was accepted",
            ),  # fmt: skip
            "400": REFUSED,
            "401": error_response("Not signed in, or the ceremony was started for another sign-in"),
            "415": error_response("The body is not JSON"),
        },
        requestBody=_body(
            {"type": "object", "required": ["credential"], "properties": {"credential": CREDENTIAL}}
        ),
    ),
}
SCHEMAS = {
    "PasskeyOptions": OPTIONS_SCHEMA,
    "PasskeyCredential": CREDENTIAL_SCHEMA,
    "Passkey": PASSKEY_SCHEMA,
}
