"""Invalidate cache tags when a change to a tagged model is committed.

A model opts in with a class attribute, e.g. ``__cache_tags__ = ("plans",)``. The tags of the
instances added, changed or deleted are collected at each flush, and those of the models that
ORM bulk statements (``session.execute(update(Plan)...)``) write to, and invalidated after the
commit (never before: a rollback keeps the cache, and readers cannot re-cache old rows between
the invalidation and the commit), once the transaction has ended and given its connection back:
the invalidation's own connection is then the thread's only one. The listener is installed once per process on SQLAlchemy's
Session class and acts for whichever app is current, so each app's own cache is invalidated.
"""

from __future__ import annotations

import logging

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from plugins.cache.state import state_or_none

log = logging.getLogger(__name__)
PENDING = "portal_cache_tags"
COMMITTED = "portal_cache_tags_committed"


def tags_of(instance: object) -> tuple[str, ...]:
    return class_tags(type(instance))


def class_tags(model: type) -> tuple[str, ...]:
    tags = getattr(model, "__cache_tags__", ())
    return (tags,) if isinstance(tags, str) else tuple(tags)


def _collect(session: Session, flush_context) -> None:
    tags: set[str] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        tags.update(tags_of(instance))
    if tags:
        session.info.setdefault(PENDING, set()).update(tags)


def _collect_bulk(state: ORMExecuteState) -> None:
    """An ORM INSERT, UPDATE or DELETE statement flushes no instances: take its model's tags.
    (Textual SQL names no model, and SQL run on a connection bypasses the session: both are the
    caller's to invalidate, as the demo seed does.)"""
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    tags = class_tags(state.bind_mapper.class_)
    if tags:
        state.session.info.setdefault(PENDING, set()).update(tags)


def _committed(session: Session) -> None:
    tags = session.info.pop(PENDING, None)
    if tags:
        session.info.setdefault(COMMITTED, set()).update(tags)


def _invalidate(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint or subtransaction: the outer one decides
        return
    tags = session.info.pop(COMMITTED, None)
    if not tags or not has_app_context():
        return
    service = state_or_none()
    if service is not None:
        removed = service.delete_by_tags(sorted(tags))
        log.debug("commit invalidated tags %s (%d entries)", sorted(tags), removed)


def _forget(session: Session, *args) -> None:
    session.info.pop(PENDING, None)


def install() -> None:
    """Listen to every session's flushes and commits (idempotent)."""
    for name, listener in (
        ("after_flush", _collect),
        ("do_orm_execute", _collect_bulk),
        ("after_commit", _committed),
        ("after_transaction_end", _invalidate),
        ("after_rollback", _forget),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
