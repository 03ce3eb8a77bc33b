"""The request pipeline the core owns: plugins' guards declared in the contract, checked at
start-up, sorted once and run before CSRF and access; no private attribute of Flask or
flask-limiter used anywhere; one Limiter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import request

from app import ConfigError, create_app
from app.plugin import Plugin, RequestGuard
from app.request_pipeline import guards

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for part in ("app", "plugins") for p in (ROOT / part).rglob("*.py"))

# Flask's hook lists and flask-limiter's internals: the pipeline is built from public API only.
PRIVATE = re.compile(
    r"\b(before_request_funcs|after_request_funcs|teardown_request_funcs|_check_request_limit)\b"
    r"|[lL]imiter\._\w|_storage_dead|_fallback_limiter|limit_manager|_marked_for_limiting"
)


def config(tmp_path, **extra):
    return {
        "PORTAL_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        **extra,
    }


def _lines(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_source_tree_uses_no_private_attribute_of_flask_or_flask_limiter():
    assert SOURCES, "no source files found"
    assert _lines(PRIVATE) == []


def test_the_grep_would_catch_what_it_forbids():
    # A check that can never fail proves nothing: show it matches each forbidden form.
    for line in (
        "app.before_request_funcs[None].remove(hook)",
        "limiter._check_request_limit",
        "self._limiter._storage",
        "app.teardown_request_funcs.setdefault(None, [])",
    ):
        assert PRIVATE.search(line), line
    assert not PRIVATE.search("strategy = limiter.limiter")


def test_only_the_pipeline_registers_before_request_hooks():
    # Plugins register per-request hooks on a blueprint (before_app_request) or as a guard.
    offenders = [
        line for line in _lines(re.compile(r"\.before_request\(")) if "request_pipeline.py" not in line
    ]
    assert offenders == []


def test_there_is_one_limiter():
    constructed = _lines(re.compile(r"\bLimiter\("))
    assert [line.split(":")[0] for line in constructed] == ["app/extensions.py"]


def _recording_plugin(name: str, calls: list[str], *orders: int, answer_at: int | None = None) -> Plugin:
    def guard_for(order: int):
        def guard():
            calls.append(f"{name}:{order}")
            return ("stopped", 418) if order == answer_at else None

        return RequestGuard(f"{name}.g{order}", order=order, func=guard)

    return Plugin(name=name, guards=tuple(guard_for(order) for order in orders))


def test_guards_of_all_plugins_run_in_order_and_the_first_answer_stops_the_request(tmp_path):
    calls: list[str] = []
    first = _recording_plugin("first", calls, 30, 10, 50)
    second = _recording_plugin("second", calls, 20, 30, 40, answer_at=40)
    app = create_app(config(tmp_path, PORTAL_PLUGINS="first,second", PORTAL_EXTRA_PLUGINS=[first, second]))
    # Sorted once at start-up; ties keep the enable-list order.
    assert [g.name for g in guards(app)] == [
        "first.g10",
        "second.g20",
        "first.g30",
        "second.g30",
        "second.g40",
        "first.g50",
    ]
    response = app.test_client().get("/account/")
    assert response.status_code == 418  # before access control's redirect to sign-in
    assert calls == ["first:10", "second:20", "first:30", "second:30", "second:40"]  # not first:50


def test_static_files_meet_no_guard(tmp_path):
    calls: list[str] = []
    plugin = _recording_plugin("watch", calls, 10, answer_at=10)
    app = create_app(config(tmp_path, PORTAL_PLUGINS="watch", PORTAL_EXTRA_PLUGINS=[plugin]))
    client = app.test_client()
    static = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == "static")
    client.get(static.replace("<path:filename>", "nothing-here.css"))
    assert calls == []
    assert client.get("/no-such-page").status_code == 418  # unknown URLs do: scanners probe them
    assert calls == ["watch:10"]


def test_a_guard_whose_when_is_false_is_left_out_at_start_up(tmp_path):
    plugin = Plugin(
        name="switch",
        guards=(
            RequestGuard("switch.on", order=1, func=lambda: None),
            RequestGuard("switch.off", order=2, func=lambda: ("no", 500), when=lambda app: False),
        ),
    )
    app = create_app(config(tmp_path, PORTAL_PLUGINS="switch", PORTAL_EXTRA_PLUGINS=[plugin]))
    assert [g.name for g in guards(app)] == ["switch.on"]
    assert app.test_client().get("/healthz").status_code == 200


def _guard():
    return ("blocked", 403) if request.remote_addr == "203.0.113.66" else None


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ((RequestGuard("elsewhere.g", order=1, func=_guard),), "must be named bad.<guard>"),
        (
            (RequestGuard("bad.g", order=1, func=_guard), RequestGuard("bad.g", order=2, func=_guard)),
            "must be named bad.<guard>, once",
        ),
        ((RequestGuard("bad.g", order="1", func=_guard),), "whole-number order"),  # type: ignore[arg-type]
        ((RequestGuard("bad.g", order=1, func=lambda user: None),), "calls with no arguments"),
        ((RequestGuard("bad.g", order=1, func=_guard, when=True),), "when must be a function"),  # type: ignore[arg-type]
        (("bad.g",), "guards must be RequestGuard"),
    ],
)
def test_a_badly_declared_guard_fails_start_up_naming_plugin_and_guard(tmp_path, declared, message):
    bad = Plugin(name="bad", guards=declared)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=f"plugin 'bad'.*{re.escape(message)}"):
        create_app(
            config(tmp_path, PORTAL_PLUGINS="bad", PORTAL_EXTRA_PLUGINS=[bad], PORTAL_PLUGINS_STRICT=True)
        )


@pytest.mark.plugins("security")
def test_the_security_plugin_declares_its_guards_in_order(app):
    assert [(g.name, g.order) for g in guards(app)] == [
        ("security.repeats", 0),
        ("security.threats", 10),
        ("security.bans", 20),
        ("security.rate_limits", 30),
        ("security.inspection", 40),
    ]


@pytest.mark.plugins("security")
@pytest.mark.config(RATE_LIMIT_ENABLED=False)
def test_rate_limits_switched_off_leave_their_guard_out(app):
    assert "security.rate_limits" not in [g.name for g in guards(app)]
    assert "security.bans" in [g.name for g in guards(app)]
