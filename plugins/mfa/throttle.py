"""Limits on wrong codes, per user (shared by every MFA form) and per client address.

Only wrong codes count (a 401): showing a form counts nothing, and a right code gives back the
place it took. Each code takes its places before it is checked (app.auth.guesses), so N
concurrent wrong codes under a limit of N are the most that are ever checked. The per-address
limit does not stop a user whose own count is clean: an office behind one address is many
people, and one of them guessing must not keep the others from their right codes.
"""

from __future__ import annotations

from flask import current_app, request
from flask_login import current_user

from app.auth import guesses
from app.auth.guesses import GuessLimit, GuessRefused, Reservation
from plugins.mfa.pending import pending_user_id

USER_SCOPE = "mfa-codes-user"
IP_SCOPE = "mfa-codes-ip"
BREACH_MESSAGE = "Too many wrong codes. Wait a few minutes, then try again."


def _user_key_for(user_id: int) -> str:
    return f"mfa-user:{user_id}"


def _user_id() -> int | None:
    """The pending user during sign-in, else the signed-in user."""
    user_id = pending_user_id()
    if user_id is None and current_user.is_authenticated:
        user_id = current_user.id
    return user_id


def ip_key() -> str:
    return f"mfa-ip:{request.remote_addr or 'unknown'}"


def _per_user(user_id: int) -> GuessLimit:
    return GuessLimit("MFA", USER_SCOPE, _user_key_for(user_id), current_app.config["MFA_RATE_LIMIT"])


def _per_address() -> GuessLimit:
    return GuessLimit("MFA", IP_SCOPE, ip_key(), current_app.config["MFA_IP_RATE_LIMIT"])


def _reserve() -> Reservation:
    """Places per user and per address; the address's limit is waived for a user whose window
    holds no wrong code (this guess's own place is the only one taken)."""
    user_id = _user_id()
    if user_id is None:  # no one to count for (an expired sign-in): the view sends them back
        return guesses.reserve_guess([_per_address()])
    own = guesses.reserve_guess([_per_user(user_id)])
    if not own.ok:
        return own
    address = guesses.reserve_guess([_per_address()])
    if address.ok:
        own.places.extend(address.places)
        return own
    if all(place.remaining == place.item.amount - 1 for place in own.places):
        return own  # a clean record: this user's only code in each window
    own.release()
    return address


def _refuse(reservation: Reservation):
    raise GuessRefused(BREACH_MESSAGE, reservation)


def limit_wrong_codes(view):
    """Decorate an MFA view that checks a code: limits per user and per address on wrong codes."""
    return guesses.limit_guesses(_reserve, _refuse)(view)


def clear_user_limit(user_id: int) -> None:
    """Forget the user's counted wrong codes (an admin unlocked them)."""
    guesses.forget_guesses(USER_SCOPE, _user_key_for(user_id), current_app.config["MFA_RATE_LIMIT"])
