"""TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of drift) with pyotp, and the QR code."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

import pyotp
import segno

DIGITS = 6
INTERVAL = 30
DRIFT_STEPS = 1
TOTP_PATTERN = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    """A fresh random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def time_step(at: float) -> int:
    return int(at // INTERVAL)


@dataclass(frozen=True)
class TotpMatch:
    """Which time step a code belongs to: ``step`` when it is usable, ``replayed`` when it is
    right for a step of the window that was already used (ASVS 2.8.5 wants that recorded)."""

    step: int | None
    replayed: bool = False


def match_code(
    secret: str, code: str, *, at: float, last_step: int | None = None, digits: int = DIGITS
) -> TotpMatch:
    """Match ``code`` against the steps of the drift window; steps up to ``last_step`` are used.

    Every candidate step is compared, in constant time, so the answer's timing does not tell
    which step (if any) matched."""
    totp = pyotp.TOTP(secret, digits=digits, interval=INTERVAL)
    current = time_step(at)
    matched = None
    replayed = False
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step < 0:
            continue
        expected = totp.generate_otp(step)
        if hmac.compare_digest(expected.encode(), code.encode()):
            if last_step is not None and step <= last_step:
                replayed = True
            elif matched is None:
                matched = step
    return TotpMatch(matched, replayed=replayed and matched is None)


def matching_step(
    secret: str, code: str, *, at: float, last_step: int | None = None, digits: int = DIGITS
) -> int | None:
    """The time step ``code`` belongs to (within the drift window, after ``last_step``), or None."""
    return match_code(secret, code, at=at, last_step=last_step, digits=digits).step


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG element (attributes only: the CSP forbids style=)."""
    qr = segno.make(uri, error="m")
    # omitsize: a viewBox instead of width/height, so the stylesheet sets the drawn size.
    return qr.svg_inline(
        omitsize=True, dark="#000", light="#fff", title="QR code for your authenticator app", svgclass="qr"
    )
