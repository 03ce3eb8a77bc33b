#!/usr/bin/env python3
"""One command to run the portal, one to test it; needs only Python 3.11 on a fresh machine.

    python3 dev.py            create .venv, install, migrate, seed demo data, serve 127.0.0.1:5000
    python3 dev.py test [ARGS] create .venv with the test extras and run pytest [ARGS]

The virtual environment is (re)installed when setup.cfg or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"


def ensure_environment(extras: str) -> None:
    """Create .venv and install the project with ``extras`` unless already up to date."""
    digest = hashlib.sha256()
    for name in ("setup.cfg", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{extras}"
    if stamp.is_file() and stamp.read_text() == digest.hexdigest():
        return
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing the portal with extras [{extras}] ...", flush=True)
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f".[{extras}]",
        ],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest.hexdigest())


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed.")
    command = argv[0] if argv else "run"
    env = dict(os.environ)
    if command == "test":
        ensure_environment("test")
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *argv[1:]], cwd=ROOT, env=env)
    if command == "run":
        ensure_environment("postgres,redis")
        env.setdefault("PORTAL_ENV", "development")
        flask = [str(BIN / "flask"), "--app", "wsgi"]
        return subprocess.call([*flask, "serve", *argv[1:]], cwd=ROOT, env=env)
    sys.exit(f"unknown command {command!r}: use 'python3 dev.py' or 'python3 dev.py test'")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
