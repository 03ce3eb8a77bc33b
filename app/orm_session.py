"""The request's ORM session class: it takes in the trusted users the request loaded before it
opened (app/auth/session_trust.py), so that a request that never touches the database (a cached
answer) builds no session, transaction or identity map just to hold its user."""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context
from flask_sqlalchemy.session import Session

WAITING = "portal.orm_waiting"  # g: instances to add to the request's session when it opens


def attach_when_opened(instance: Any) -> None:
    """Add ``instance`` to this request's ORM session as soon as it opens."""
    g.setdefault(WAITING, []).append(instance)


class AttachingSession(Session):
    """Flask-SQLAlchemy's session, adding what waits for it (``attach_when_opened``) at birth,
    before any query can load a second copy of the same row."""

    def __init__(self, db, **kwargs: Any) -> None:
        super().__init__(db, **kwargs)
        if has_app_context():
            for instance in g.pop(WAITING, ()):
                self.add(instance)
