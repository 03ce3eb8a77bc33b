"""`flask demo seed`: thousands of plausible plans from a fixed seed, once, and the client's policies."""

from collections import Counter

import pytest

from app.extensions import db
from plugins.plans.demo import generate_plans
from plugins.plans.models import Plan, Policy

pytestmark = pytest.mark.plugins("plans")


def test_the_generator_is_deterministic_and_plausible():
    plans = list(generate_plans())
    assert plans == list(generate_plans())
    assert 2000 <= len(plans) <= 5000
    assert len({plan["plan_code"] for plan in plans}) == len(plans)
    kinds = Counter(plan["plan_type"] for plan in plans)
    assert set(kinds) == {"HMO", "PPO", "PDP", "Medigap"}
    for plan in plans:
        assert 0 <= plan["monthly_premium"] <= 400 and plan["deductible"] >= 0
        if plan["plan_type"] == "Medigap":
            assert plan["star_rating"] is None
        else:
            assert 1 <= plan["star_rating"] <= 5 and plan["max_out_of_pocket"] is not None
    assert list(generate_plans(seed=1)) != plans


def test_demo_seed_adds_plans_and_policies_once(app, runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "demo plans in 10 states" in first.output and "policies for client" in first.output
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count(Plan.id)))
        policies = db.session.scalars(db.select(Policy)).all()
        assert count == len(list(generate_plans()))
        assert {policy.status for policy in policies} == {"active", "expired"}
        assert all(policy.plan.plan_type == "HMO" for policy in policies)
    again = runner.invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "plans:" not in again.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Plan.id))) == count
        assert db.session.scalar(db.select(db.func.count(Policy.id))) == 2
