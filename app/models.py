"""Core models: users (with their role and session version) and scheduled job runs."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (stored as naive UTC by SQLite, with zone by PostgreSQL)."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime: SQLite hands back naive UTC, PostgreSQL an
    aware value in the session's zone. None stays None."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Role(StrEnum):
    CLIENT = "client"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role in ('client', 'admin')", name="role_valid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.CLIENT.value)
    # Part of the session identifier: bumping it ends every session signed in before.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Optional, for security notices only (no sign-in by e-mail), so not unique: a uniqueness
    # error would tell anyone which addresses have accounts. See app.account.email.
    email: Mapped[str | None] = mapped_column(String(254))

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return bool(self.active)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"


class JobRun(db.Model):
    """One run of a scheduled job: when, how long, how it ended, and where it ran."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_name: Mapped[str] = mapped_column(String(120), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")  # running, success, error
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str] = mapped_column(String(120), default="", server_default="")
    trigger: Mapped[str] = mapped_column(String(16), default="schedule", server_default="schedule")

    @classmethod
    def latest_by_job(cls) -> dict[str, JobRun]:
        """The newest run of each job, by name."""
        newest = db.select(cls.job_name, func.max(cls.id).label("id")).group_by(cls.job_name).subquery()
        rows = db.session.scalars(db.select(cls).join(newest, cls.id == newest.c.id))
        return {run.job_name: run for run in rows}


class JobState(db.Model):
    """An admin's switch for one scheduled job (paused jobs are skipped by the scheduler)."""

    __tablename__ = "job_states"

    job_name: Mapped[str] = mapped_column(String(120), primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(80))


class UserSession(db.Model):
    """One signed-in session, so that signing out ends it on the server too (a copied cookie of a
    signed-out session is refused). Only a hash of the session's key is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, db.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Written at most once a minute a session (app.auth.sessions.LAST_SEEN_STEP), never per request.
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
