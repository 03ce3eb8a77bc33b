"""Extension objects, created here and bound to the app in create_app()."""

from __future__ import annotations

from flask import request
from flask_caching import Cache
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.orm_session import AttachingSession
from app.rate_limits import Limiter

# Named constraints make Alembic migrations reproducible on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def rate_limit_key() -> str:
    """Key rate limits by user when signed in and by client IP otherwise."""
    user = current_user._get_current_object()  # each use of the proxy asks flask-login again
    if user is not None and user.is_authenticated:
        return f"user:{user.id}"
    return f"ip:{request.remote_addr or 'unknown'}"


db = SQLAlchemy(model_class=Base, session_options={"class_": AttachingSession})
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# The portal's one Limiter (app/rate_limits.py), bound in create_app to memory+swept:// or
# REDIS_URL: its strategy (``limiter.strategy``) counts the security plugin's limits, the account
# notices and reported events; views may add limits of their own with ``@limiter.limit(...)``.
limiter = Limiter(key_func=rate_limit_key)
# flask-caching for view caching; NullCache until the cache plugin puts its backend behind it.
cache = Cache()
