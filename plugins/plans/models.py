"""Medicare plans and the policies clients hold on them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import utcnow


class PlanType(StrEnum):
    HMO = "HMO"
    PPO = "PPO"
    PDP = "PDP"
    MEDIGAP = "Medigap"


class PolicyStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} in ({', '.join(repr(member.value) for member in enum)})"


class Plan(db.Model):
    """One Medicare plan offered in one county."""

    __tablename__ = "plans"
    # The cache plugin drops every entry tagged "plans" after a committed change of a plan.
    __cache_tags__ = ("plans",)
    __table_args__ = (
        CheckConstraint(_in("plan_type", PlanType), name="plan_type_valid"),
        CheckConstraint("star_rating is null or (star_rating >= 1 and star_rating <= 5)", name="stars_range"),
        # The search always filters by location first, then sorts by premium within it.
        Index("ix_plans_state_county_premium", "state", "county", "monthly_premium"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    carrier: Mapped[str] = mapped_column(String(80), index=True)
    plan_type: Mapped[str] = mapped_column(String(10), index=True)
    state: Mapped[str] = mapped_column(String(2))
    county: Mapped[str] = mapped_column(String(80))
    monthly_premium: Mapped[Decimal] = mapped_column(Numeric(8, 2), index=True)
    deductible: Mapped[Decimal] = mapped_column(Numeric(9, 2))
    # PDP and most Medigap plans have no out-of-pocket maximum; Medigap plans have no star rating.
    max_out_of_pocket: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    star_rating: Mapped[Decimal | None] = mapped_column(Numeric(2, 1), index=True)
    benefits: Mapped[list[str]] = mapped_column(JSON, default=list)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (money and stars as numbers)."""
        return {
            "id": self.id,
            "plan_code": self.plan_code,
            "name": self.name,
            "carrier": self.carrier,
            "plan_type": self.plan_type,
            "state": self.state,
            "county": self.county,
            "monthly_premium": _number(self.monthly_premium),
            "deductible": _number(self.deductible),
            "max_out_of_pocket": _number(self.max_out_of_pocket),
            "star_rating": _number(self.star_rating),
            "benefits": list(self.benefits or []),
        }


class Policy(db.Model):
    """A client's policy on a plan."""

    __tablename__ = "policies"
    __table_args__ = (CheckConstraint(_in("status", PolicyStatus), name="status_valid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    policy_number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(12), default=PolicyStatus.ACTIVE.value)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    monthly_premium: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    plan: Mapped[Plan] = relationship(lazy="joined")


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
