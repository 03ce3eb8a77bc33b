"""Tables of the database backend: the seed's cache_entries, an index of entries by tag and one
version per tag (an invalidation bumps it, so an entry computed before it is never served)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import utcnow


class CacheEntry(db.Model):
    __tablename__ = "cache_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)  # serialized, optionally compressed
    size: Mapped[int] = mapped_column(Integer)  # len(value): the LRU bound counts these bytes
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_accessed: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)


class CacheEntryTag(db.Model):
    """One row per (tag, entry): invalidating a tag deletes its entries through this index."""

    __tablename__ = "cache_entry_tags"

    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class CacheTagVersion(db.Model):
    __tablename__ = "cache_tag_versions"

    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
