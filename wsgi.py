"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

from __future__ import annotations

import sys

from app import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:  # a bad setting: say which, and stop
    sys.stderr.write(f"Configuration error: {error}\n")
    raise SystemExit(2) from None
