"""A software passkey authenticator for tests: a real P-256 key pair (cryptography) answering the
portal's WebAuthn options with genuine "none" attestations and signed assertions, so that
py_webauthn verifies them exactly as it verifies a browser's. CBOR through py_webauthn's own
encoder; the browser tests drive chromium's virtual authenticator for the real ceremony.

Knobs let a test play the attacker: another origin or RP ID, a counter set back, a key that is
not the registered one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.encode_cbor import encode_cbor

ORIGIN = "http://localhost"
RP_ID = "localhost"
FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


@dataclass
class SoftPasskey:
    """One discoverable credential held by the software authenticator."""

    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    user_handle: bytes | None = None
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
        return encode_cbor(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    def register(self, options: dict, *, origin: str = ORIGIN, rp_id: str | None = None,
                 user_verified: bool = True) -> dict:  # fmt: skip
        """The JSON a browser sends after navigator.credentials.create(options)."""
        public_key = options["publicKey"]
        self.user_handle = base64url_to_bytes(public_key["user"]["id"])
        rp = rp_id if rp_id is not None else public_key["rp"].get("id", RP_ID)
        client_data = _client_data("webauthn.create", public_key["challenge"], origin)
        attested = (
            b"\x00" * 16  # AAGUID: none
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self.cose_public_key()
        )
        flags = FLAG_UP | FLAG_AT | (FLAG_UV if user_verified else 0)
        auth_data = _rp_hash(rp) + bytes([flags]) + struct.pack(">I", self.sign_count) + attested
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": _b64(self.credential_id),
            "rawId": _b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(client_data),
                "attestationObject": _b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def assert_(self, options: dict, *, origin: str = ORIGIN, rp_id: str | None = None,
                user_verified: bool = True, sign_count: int | None = None,
                key: ec.EllipticCurvePrivateKey | None = None) -> dict:  # fmt: skip
        """The JSON a browser sends after navigator.credentials.get(options); the counter moves
        on by one unless ``sign_count`` says otherwise."""
        public_key = options["publicKey"]
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        rp = rp_id if rp_id is not None else public_key.get("rpId", RP_ID)
        client_data = _client_data("webauthn.get", public_key["challenge"], origin)
        flags = FLAG_UP | (FLAG_UV if user_verified else 0)
        auth_data = _rp_hash(rp) + bytes([flags]) + struct.pack(">I", sign_count)
        signer = key or self.key
        signature = signer.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "clientDataJSON": _b64(client_data),
            "authenticatorData": _b64(auth_data),
            "signature": _b64(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = _b64(self.user_handle)
        return {
            "id": _b64(self.credential_id),
            "rawId": _b64(self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


def _client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()


def _rp_hash(rp_id: str) -> bytes:
    return hashlib.sha256(rp_id.encode()).digest()
