"""Password rules and hashing, shared by the web forms and the CLI."""

from __future__ import annotations

import re

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.breached import BREACHED_MESSAGE, is_breached

MAX_PASSWORD_LENGTH = 256  # hashing is deliberately slow; refuse megabyte "passwords"
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{3,80}$")

_dummy_hashes: dict[str, str] = {}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash, check against a dummy made with the configured method,
    so that an unknown username costs the same time as a wrong password."""
    if password_hash is None:
        method = current_app.config["PASSWORD_HASH_METHOD"]
        if method not in _dummy_hashes:
            _dummy_hashes[method] = hash_password("timing-equaliser-not-a-password")
        check_password_hash(_dummy_hashes[method], password)
        return False
    return check_password_hash(password_hash, password)


def password_problems(password: str, username: str) -> list[str]:
    """Every rule ``password`` breaks, as messages a user can act on (empty when it is fine)."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    problems = []
    if len(password) < minimum:
        problems.append(f"Use at least {minimum} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if not password.strip():
        problems.append("The password cannot be only spaces.")
    if username and password.strip().lower() == username.strip().lower():
        problems.append("The password cannot be the same as the username.")
    # Only a password of acceptable length is looked up (a longer one is refused already).
    if (
        current_app.config["PASSWORD_BREACH_CHECK"]
        and len(password) <= MAX_PASSWORD_LENGTH
        and is_breached(password)
    ):
        problems.append(BREACHED_MESSAGE)
    return problems


def username_problem(username: str) -> str | None:
    if not USERNAME_PATTERN.match(username or ""):
        return "Use 3 to 80 letters, digits or . _ @ - for the username."
    return None
