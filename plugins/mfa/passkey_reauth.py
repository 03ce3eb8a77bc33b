"""A passkey as the second factor at re-authentication (/auth/reauth), for a user whose only
second factor is a passkey: the page's script runs the ceremony against the reauth API, which
hands back a proof; the proof rides in the form's hidden ``code`` with the password, and
``check`` redeems it.

The proof lives in the signed session like a challenge, so a copy of the cookie taken in between
would carry it too: it is short-lived, bound to the user, and its one use takes the place of a
limit of its own (app.auth.guesses, atomic on every storage), so it counts once everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import session

from app.auth import guesses
from app.auth.guesses import GuessLimit
from app.auth.reauth import FactorCheck, SecondFactor
from app.models import User

PROOF_KEY = "mfa_passkey_reauth_proof"
PROOF_TTL_S = 120
USED_LIMIT = "1 per 3 minutes"  # longer than a proof lives
USED_SCOPE = "passkey-reauth-proof"
CLOCK_SKEW_S = 5

TEMPLATE = "mfa/passkey_reauth.html"
LABEL = "Passkey"
HINT = "Your account signs in with a passkey: confirm with it too (Use a passkey), then press Confirm."
MISSING = "Confirm with your passkey first (Use a passkey), then press Confirm."
NOT_CONFIRMED = "The passkey confirmation is missing, expired or was used already: use your passkey again."


def second_factor(user: User) -> SecondFactor:
    return SecondFactor(
        label=LABEL, hint=HINT, check=lambda code: redeem(user, code), template=TEMPLATE, missing=MISSING
    )


def grant(user_id: int, now: float | None = None) -> str:
    """Remember in the session that ``user_id`` has just answered a reauth ceremony; the proof."""
    proof = secrets.token_urlsafe(32)
    session[PROOF_KEY] = {"p": proof, "u": user_id, "at": int(time.time() if now is None else now)}
    return proof


def redeem(user: User, code: str, now: float | None = None) -> FactorCheck:
    """Accept ``code`` once if it is this session's fresh proof for ``user``."""
    state = session.pop(PROOF_KEY, None)
    now = time.time() if now is None else now
    if not isinstance(state, dict) or not isinstance(state.get("p"), str) or state.get("u") != user.id:
        return FactorCheck(ok=False, error=NOT_CONFIRMED, status=401)
    issued = state.get("at")
    if not isinstance(issued, int) or now - issued > PROOF_TTL_S or issued > now + CLOCK_SKEW_S:
        return FactorCheck(ok=False, error=NOT_CONFIRMED, status=401)
    if not hmac.compare_digest(state["p"].encode(), code.strip().encode()):
        return FactorCheck(ok=False, error=NOT_CONFIRMED, status=401)
    digest = hashlib.sha256(state["p"].encode()).hexdigest()
    if not guesses.reserve_guess([GuessLimit("PASSKEY", USED_SCOPE, digest, USED_LIMIT)]).ok:
        return FactorCheck(ok=False, error=NOT_CONFIRMED, status=401)  # a copied cookie's second use
    return FactorCheck(ok=True)
