"""Passkey ceremony challenges: random, bound to the session, short-lived and single-use.

The challenge of the ceremony in progress lives in the signed session (one at a time; a new
ceremony replaces it) and is popped when its answer arrives, right or wrong. The session is a
cookie, so a copy of the cookie taken before would still carry it: each challenge also takes
the one place of a limit of its own (app.auth.guesses, atomic on every storage), so its second
use is refused in every process and browser.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from flask import session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from app.auth import guesses
from app.auth.guesses import GuessLimit

CHALLENGE_KEY = "mfa_passkey_challenge"
CHALLENGE_TTL_S = 120
CHALLENGE_BYTES = 32
# Longer than the challenge lives, so its place stays taken until it has expired anyway.
USED_LIMIT = "1 per 3 minutes"
USED_SCOPE = "passkey-challenge"
# Tolerated clock difference between the processes that issued and that check a challenge.
CLOCK_SKEW_S = 5
PURPOSES = ("register", "signin", "reauth")


class ChallengeMissing(Exception):
    """No challenge of that purpose, an expired one, or (``replayed``) one used before."""

    def __init__(self, message: str, replayed: bool = False) -> None:
        super().__init__(message)
        self.replayed = replayed


@dataclass(frozen=True)
class Challenge:
    value: bytes
    purpose: str
    user_id: int | None  # the user it was issued for: the registrant, or the pending second step


def issue(purpose: str, user_id: int | None, now: float | None = None) -> bytes:
    """A fresh challenge for ``purpose``, remembered in the session (replacing any other)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    value = secrets.token_bytes(CHALLENGE_BYTES)
    session[CHALLENGE_KEY] = {
        "c": bytes_to_base64url(value),
        "p": purpose,
        "u": user_id,
        "at": int(time.time() if now is None else now),
    }
    return value


def take(purpose: str, now: float | None = None) -> Challenge:
    """Pop the session's challenge if it is of ``purpose``, fresh and unused; else raise."""
    state = session.pop(CHALLENGE_KEY, None)
    now = time.time() if now is None else now
    if not isinstance(state, dict) or state.get("p") != purpose:
        raise ChallengeMissing("no passkey ceremony is in progress: start again")
    issued, encoded, user_id = state.get("at"), state.get("c"), state.get("u")
    if not isinstance(issued, int) or not isinstance(encoded, str):
        raise ChallengeMissing("no passkey ceremony is in progress: start again")
    if now - issued > CHALLENGE_TTL_S or issued > now + CLOCK_SKEW_S:
        raise ChallengeMissing("the passkey request expired: start again")
    value = base64url_to_bytes(encoded)
    if not _first_use(value):
        raise ChallengeMissing("this passkey request was already answered: start again", replayed=True)
    return Challenge(value, purpose, user_id if isinstance(user_id, int) else None)


def _first_use(value: bytes) -> bool:
    """Take the challenge's one place; False when another answer took it before."""
    digest = hashlib.sha256(value).hexdigest()
    return guesses.reserve_guess([GuessLimit("PASSKEY", USED_SCOPE, digest, USED_LIMIT)]).ok


def discard() -> None:
    session.pop(CHALLENGE_KEY, None)
