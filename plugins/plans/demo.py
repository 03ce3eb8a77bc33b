"""Demo data: a few thousand plausible plans (fixed random seed) and policies for the demo client."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect

from app.caching import delete_by_tags
from app.extensions import db
from app.models import User
from plugins.plans.models import Plan, PlanType, Policy, PolicyStatus
from plugins.plans.search import CACHE_TAGS

SEED = 20250101
COUNTIES = {
    "AZ": ("Maricopa", "Pima", "Pinal", "Yavapai", "Mohave", "Coconino"),
    "CA": ("Los Angeles", "San Diego", "Orange", "Riverside", "Sacramento", "Fresno", "Alameda"),
    "FL": ("Miami-Dade", "Broward", "Palm Beach", "Hillsborough", "Orange", "Pinellas", "Duval"),
    "IL": ("Cook", "DuPage", "Lake", "Will", "Kane", "Sangamon"),
    "MI": ("Wayne", "Oakland", "Macomb", "Kent", "Genesee", "Washtenaw"),
    "NM": ("Bernalillo", "Doña Ana", "Santa Fe", "Sandoval", "San Juan"),
    "NY": ("Kings", "Queens", "New York", "Suffolk", "Nassau", "Erie", "Monroe"),
    "OH": ("Franklin", "Cuyahoga", "Hamilton", "Summit", "Montgomery", "Lucas"),
    "PA": ("Philadelphia", "Allegheny", "Montgomery", "Bucks", "Delaware", "Lancaster"),
    "TX": ("Harris", "Dallas", "Tarrant", "Bexar", "Travis", "El Paso", "Collin"),
}
CARRIERS = (
    "Blue Harbor Health", "Cascade Benefit Life", "Evergreen Health Partners", "Granite Mutual",
    "Lakeshore Health Plans", "Meridian Senior Care", "Northwind Health", "Pioneer Medicare",
    "Summit Senior Care", "Sunrise Health",
)  # fmt: skip
EXTRAS = (
    "Dental", "Vision", "Hearing aids", "Fitness membership", "Over-the-counter allowance",
    "Telehealth", "Transportation to appointments", "Meals after a hospital stay",
)  # fmt: skip
PDP_EXTRAS = ("Preferred pharmacy network", "Mail-order pharmacy", "$35 monthly insulin cap")
# Medigap plan letter -> (premium range, deductible, out-of-pocket limit or None, what it pays).
MEDIGAP = {
    "G": ((110, 260), 257, None, "Part A and B coinsurance, excess charges, foreign travel"),
    "N": ((85, 200), 257, None, "Part A and B coinsurance with small copays, foreign travel"),
    "K": ((45, 110), 257, 7060, "Half of Part A and B coinsurance"),
    "L": ((70, 160), 257, 3530, "Three quarters of Part A and B coinsurance"),
}
TIERS = ("Value", "Choice", "Premier", "Essential", "Plus", "Complete")
PLANS_PER_COUNTY = (30, 50)
# Contract-number prefixes in the style of CMS (H: local MA, R: regional PPO, S: drug plan).
CODE_PREFIX = {PlanType.HMO: "H", PlanType.PPO: "R", PlanType.PDP: "S", PlanType.MEDIGAP: "M"}


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _stars(rng: random.Random) -> Decimal:
    return Decimal(rng.choice(("2.5", "3", "3.5", "3.5", "4", "4", "4", "4.5", "4.5", "5")))


def _plan(rng: random.Random, plan_type: PlanType, carrier: str) -> dict[str, Any]:
    """One plan's fields, drawn from ranges close to real 2025 Medicare offerings."""
    tier = rng.choice(TIERS)
    if plan_type is PlanType.MEDIGAP:
        letter = rng.choice(tuple(MEDIGAP))
        (low, high), deductible, oop, pays = MEDIGAP[letter]
        return {
            "name": f"{carrier} Medigap Plan {letter}",
            "monthly_premium": _money(rng.uniform(low, high)),
            "deductible": _money(deductible),
            "max_out_of_pocket": None if oop is None else _money(oop),
            "star_rating": None,
            "benefits": [pays, "Any doctor that accepts Medicare"],
        }
    if plan_type is PlanType.PDP:
        return {
            "name": f"{carrier} Rx {tier} (PDP)",
            "monthly_premium": _money(rng.choice((0, rng.uniform(5, 110)))),
            "deductible": _money(rng.choice((0, 250, 400, 590))),
            "max_out_of_pocket": _money(2000),  # the 2025 Part D out-of-pocket cap
            "star_rating": _stars(rng),
            "benefits": sorted(rng.sample(PDP_EXTRAS, rng.randint(1, 3))),
        }
    ppo = plan_type is PlanType.PPO
    return {
        "name": f"{carrier} Advantage {tier} ({plan_type.value})",
        "monthly_premium": _money(rng.choice((0, 0, rng.uniform(10, 150 if ppo else 90)))),
        "deductible": _money(rng.choice((0, 0, 250, 500) if not ppo else (0, 250, 500, 1000))),
        "max_out_of_pocket": _money(rng.randrange(5000, 14000 if ppo else 9350, 50)),
        "star_rating": _stars(rng),
        "benefits": ["Part D drug coverage", *sorted(rng.sample(EXTRAS, rng.randint(2, 6)))],
    }


def generate_plans(seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Every demo plan as insertable rows; the same seed always yields the same plans."""
    rng = random.Random(seed)
    number = 0
    for state, counties in COUNTIES.items():
        for county in counties:
            for _ in range(rng.randint(*PLANS_PER_COUNTY)):
                number += 1
                plan_type = rng.choices(list(PlanType), weights=(40, 25, 20, 15))[0]
                carrier = rng.choice(CARRIERS)
                fields = _plan(rng, plan_type, carrier)
                yield {
                    "plan_code": f"{CODE_PREFIX[plan_type]}{number:04d}-{rng.randint(1, 999):03d}",
                    "carrier": carrier,
                    "plan_type": plan_type.value,
                    "state": state,
                    "county": county,
                    **fields,
                }


def _client_policies(client: User) -> Iterator[Policy]:
    """This year's active policy and last year's expired one, on well-rated HMO plans."""
    query = (
        db.select(Plan).where(Plan.plan_type == PlanType.HMO.value).order_by(Plan.star_rating.desc(), Plan.id)
    )
    year = date.today().year
    terms = (
        (year, PolicyStatus.ACTIVE, None),
        (year - 1, PolicyStatus.EXPIRED, date(year - 1, 12, 31)),
    )
    for plan, (start, status, end) in zip(db.session.scalars(query.limit(2)), terms, strict=False):
        yield Policy(
            user_id=client.id,
            plan=plan,
            policy_number=f"EM-{start}-{client.id:06d}",
            status=status.value,
            start_date=date(start, 1, 1),
            end_date=end,
            monthly_premium=plan.monthly_premium,
        )


def _reloaded(user: User | None) -> User | None:
    """``user`` in this session: an earlier demo hook may have closed the one it came from."""
    if user is None:
        return None
    return db.session.get(User, inspect(user).identity[0])


def seed_demo(users: dict[str, User]) -> list[str]:
    """Answer ``portal_demo_seed``: add the plans and the client's policies unless already there."""
    lines = []
    if db.session.scalar(db.select(Plan.id).limit(1)) is None:
        rows = list(generate_plans())
        db.session.execute(db.insert(Plan), rows)  # one executemany: thousands of rows in well under a second
        db.session.commit()
        delete_by_tags(CACHE_TAGS)  # a bulk insert bypasses the ORM events the cache plugin watches
        lines.append(f"plans: {len(rows)} demo plans in {len(COUNTIES)} states")
    client = _reloaded(users.get("client"))
    if (
        client is not None
        and db.session.scalar(db.select(Policy.id).where(Policy.user_id == client.id)) is None
    ):
        db.session.add_all(_client_policies(client))
        db.session.commit()
        lines.append(f"plans: policies for {client.username} (see My policies)")
    return lines
