"""The portal's keys: secrets generated into the instance folder, and one derived key a purpose.

``SECRET_KEY`` is the master secret and nothing signs or encrypts with it directly: each purpose
(session cookies, CSRF tokens, the TOTP encryption default, the keyed digests of usernames and
limit keys, device cookies...) gets its own key, derived with HKDF-SHA256 under an info string of
its own. A key that leaks through one use (a digest in a log, say) tells nothing about another,
and a new purpose never reuses an old one's key by accident.

Rotation: the previous master secrets listed in ``SECRET_KEY_FALLBACKS`` derive the keys that are
still accepted (``derived_keys``), the newest first; only the current one signs or encrypts.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask

log = logging.getLogger(__name__)

HKDF_SALT = b"el-mag-portal/keys"
# The purposes known today; a new one needs no registration, only a name of its own.
PURPOSES = ("session", "csrf", "totp-encryption", "digest", "device-cookie")
MIN_SECRET_LENGTH = 32


class KeyFileError(RuntimeError):
    """A secret file in the instance folder cannot be read or is not a usable secret."""


def derive(master: str | bytes, purpose: str, length: int = 32) -> bytes:
    """The key for ``purpose`` derived from ``master`` (HKDF-SHA256, info ``portal/<purpose>/v1``)."""
    if not purpose or not purpose.isascii():
        raise ValueError(f"a key purpose is a non-empty ASCII name, got {purpose!r}")
    material = master.encode("utf-8") if isinstance(master, str) else master
    info = b"portal/" + purpose.encode("ascii") + b"/v1"
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=HKDF_SALT, info=info).derive(material)


def derived_key(app: Flask, purpose: str) -> bytes:
    """The current key for ``purpose``: derived from the app's SECRET_KEY (computed once)."""
    return _cached(app, app.config["SECRET_KEY"], purpose)


def derived_keys(app: Flask, purpose: str) -> list[bytes]:
    """Every key still accepted for ``purpose``: the current one first, then those of the
    secrets in SECRET_KEY_FALLBACKS (for checking signatures made before a rotation)."""
    masters = [app.config["SECRET_KEY"], *app.config.get("SECRET_KEY_FALLBACKS", ())]
    return [_cached(app, master, purpose) for master in masters]


def _cached(app: Flask, master: str | bytes, purpose: str) -> bytes:
    # Derivation costs microseconds, but digests and cookie checks run on every request.
    cache: dict[tuple[str | bytes, str], bytes] = app.extensions.setdefault("portal.keys", {})
    key = cache.get((master, purpose))
    if key is None:
        key = cache[(master, purpose)] = derive(master, purpose)
    return key


def instance_secret(folder: str | os.PathLike[str], name: str) -> str:
    """The secret stored in ``folder/name``, created (random, mode 0600) when it does not exist.

    Several processes may start at once: each writes its candidate to a private file and links
    it into place, which succeeds for one of them only; all then read the same file.
    """
    path = Path(folder) / name
    if not path.exists():
        _create(path)
    return read_secret(path)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(candidate, path)
            log.info("generated %s in the instance folder (keep it secret, back it up)", path.name)
        except FileExistsError:
            pass  # another process was first: its secret is the one
    finally:
        candidate.unlink(missing_ok=True)


def read_secret(path: Path) -> str:
    """The secret in ``path``; a file others may read is used but reported."""
    try:
        value = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as error:
        raise KeyFileError(f"{path.name} in the instance folder is unreadable: {error}") from None
    if len(value) < MIN_SECRET_LENGTH:
        raise KeyFileError(
            f"{path.name} in the instance folder must hold at least {MIN_SECRET_LENGTH} characters"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s in the instance folder is readable by others: chmod 600 it", path.name)
    return value
