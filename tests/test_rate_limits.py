"""The portal's one Limiter on `limits` (app/rate_limits.py): a view's own limit counts only when
that view is called, refuses with a 429 with or without the security plugin, and a request to
any other view meets none of the limiter's machinery."""

from __future__ import annotations

import sys

import pytest

from app import ConfigError, create_app
from app.access import public
from app.extensions import limiter


def _limited_app(app):
    @public
    def limited_view():
        return "ok"

    app.add_url_rule(
        "/limited-view", view_func=limiter.limit("2 per minute", key_func=lambda: "ip:test")(limited_view)
    )
    return app


@pytest.mark.plugins()
def test_a_views_own_limit_refuses_with_429_without_the_security_plugin(app):
    client = _limited_app(app).test_client()
    answers = [client.get("/limited-view") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60


@pytest.mark.plugins()
@pytest.mark.config(RATELIMIT_ENABLED=False)
def test_a_views_own_limit_counts_nothing_when_the_limiter_is_off(app):
    client = _limited_app(app).test_client()
    assert {client.get("/limited-view").status_code for _ in range(5)} == {200}


def test_flask_limiter_is_not_loaded(app, client):
    # Its per-request pass is what this limiter replaces: nothing may bring it back in.
    client.get("/auth/login")
    assert "flask_limiter" not in sys.modules


def test_an_unknown_strategy_stops_start_up_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="RATELIMIT_STRATEGY"):
        create_app(
            {
                "PORTAL_ENV": "testing",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                "INSTANCE_PATH": str(tmp_path),
                "RATELIMIT_STRATEGY": "leaky-bucket",
            }
        )


def test_a_storage_that_fails_is_replaced_by_memory_for_a_while(app):
    with app.app_context():
        counting = limiter.counting()

        class Broken:
            def hit(self, *args):
                raise ConnectionError("storage went away")

        counting.primary = Broken()
        strategy, admitted = counting.hit(__import__("limits").parse("1 per minute"), "t", "k")
        assert strategy is counting.fallback and admitted
        assert counting.strategy() is counting.fallback  # memory keeps counting for a while
