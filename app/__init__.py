"""The El-Mag Client Portal: ``create_app`` builds the portal from config and plugins."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import access, database, errors, input_limits, mail, navigation, request_pipeline, security_headers
from app.auth import service as auth_service
from app.config import ConfigError, core_config, gather_raw_config
from app.extensions import cache, db, limiter, migrate
from app.plugin.loader import load_plugins, wire_plugins

PROJECT_ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ConfigError", "create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal. ``test_config`` replaces the environment as the source of settings."""
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PORTAL_INSTANCE_PATH", str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    input_limits.init_app(app)

    # 1. configuration (core settings now, each plugin's settings when the plugins are loaded)
    raw, explicit = gather_raw_config(app.instance_path, test_config)
    app.config.update(core_config(raw, explicit, app.instance_path))
    _configure_logging(app)
    extra_plugins = tuple((test_config or {}).get("PORTAL_EXTRA_PLUGINS", ()))
    registry = load_plugins(app, raw, extra=extra_plugins)
    app.extensions["portal.plugins"] = registry
    if app.config["TRUSTED_PROXY_COUNT"]:
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    # 2. the request pipeline (app/request_pipeline.py: routing, plugins' guards, CSRF, idle
    # timeout, access; a banned client gets no further than the guards), then the extensions
    limiter.init_app(app)  # before the guards: RATELIMIT_ENABLED decides whether one runs
    request_pipeline.init_app(app, registry)
    database.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    app.config.setdefault("CACHE_TYPE", "NullCache")
    app.config.setdefault("CACHE_NO_NULL_WARNING", True)
    cache.init_app(app)
    security_headers.init_app(app)
    mail.init_app(app)

    # 3. sign-in, access levels and the core's blueprints
    auth_service.init_app(app)
    access.init_app(app)
    from app.account import bp as account_bp
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.core_views import bp as core_bp

    for blueprint in (core_bp, auth_bp, account_bp, admin_bp, api_bp):
        app.register_blueprint(blueprint)
    navigation.init_app(app)

    # 4. plugins, 5. errors, 6. CLI
    wire_plugins(app, registry)
    errors.init_app(app)
    from app import cli

    cli.init_app(app)
    return app


def _configure_logging(app: Flask) -> None:
    level = getattr(logging, app.config["LOG_LEVEL"].upper())
    logging.getLogger("app").setLevel(level)
    logging.getLogger("plugins").setLevel(level)
    logging.getLogger("portal").setLevel(level)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
