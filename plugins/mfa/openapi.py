"""This plugin's part of /api/v1/openapi.json: the MFA status (api.py) and the passkey
ceremonies (passkeys_api.py, described in passkey_openapi.py)."""

from __future__ import annotations

from typing import Any

from plugins.mfa import passkey_openapi

MFA_STATUS_SCHEMA = {
    "type": "object",
    "required": [
        "enabled",
        "required",
        "enabled_at",
        "backup_codes_remaining",
        "backup_codes_low",
        "locked_until",
    ],
    "properties": {
        "enabled": {"type": "boolean", "description": "Two-factor sign-in is on"},
        "required": {"type": "boolean", "description": "MFA_REQUIRED_ROLES includes the user's role"},
        "enabled_at": {"type": ["string", "null"], "format": "date-time"},
        "backup_codes_remaining": {"type": "integer", "minimum": 0, "maximum": 10},
        "backup_codes_low": {"type": "boolean", "description": "3 or fewer backup codes left"},
        "locked_until": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "End of a lockout after repeated wrong codes",
        },
    },
    "additionalProperties": False,
}

# What the core's access guard answers to an anonymous API request.
SIGN_IN_REQUIRED_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "login_url": {"type": "string"}},
}

OPENAPI = {
    "tags": [{"name": "mfa", "description": "Two-factor sign-in"}],
    "paths": {
        "/mfa/status": {
            "get": {
                "tags": ["mfa"],
                "summary": "The signed-in user's MFA status",
                "operationId": "getMfaStatus",
                "responses": {
                    "200": {
                        "description": "MFA status",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/MfaStatus"}}
                        },
                    },
                    "401": {
                        "description": "Not signed in",
                        "content": {"application/json": {"schema": SIGN_IN_REQUIRED_SCHEMA}},
                    },
                },
            }
        }
    },
    "components": {"schemas": {"MfaStatus": MFA_STATUS_SCHEMA}},
}


def openapi_fragment() -> dict[str, Any]:
    """The MFA status and the passkey ceremonies in one fragment (paths relative to /api/v1)."""
    return {
        "tags": [*OPENAPI["tags"], passkey_openapi.TAG],
        "paths": {**OPENAPI["paths"], **passkey_openapi.PATHS},
        "components": {"schemas": {**OPENAPI["components"]["schemas"], **passkey_openapi.SCHEMAS}},
    }
