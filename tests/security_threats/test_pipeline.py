"""The security-event pipeline: audit log -> detect -> report -> alert -> respond, called in that
order by one owner, and no way back. What a later stage writes (a detection, "IP blocked", even
an event of a type the rules read) is stored in the audit log and never reaches the rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.events import EventType
from app.extensions import db
from plugins.security.threats import pipeline
from plugins.security.threats.detection import Detection
from plugins.security.threats.models import AuthFailure
from tests.security_threats.conftest import alerts, emit, events_of
from tests.support.import_graph import build_graph

ATTACKER = "203.0.113.77"
THREATS = Path(pipeline.__file__).parent


@pytest.fixture
def stages(monkeypatch):
    """Record each stage's call: (name, what it took, what it returned)."""
    calls: list[tuple[str, object, object]] = []

    def recorded(stage):
        def run(value):
            result = stage.run(value)
            calls.append((stage.name, value, result))
            return result

        return pipeline.Stage(stage.name, run, stage.takes, stage.gives)

    monkeypatch.setattr(pipeline, "STAGES", tuple(recorded(stage) for stage in pipeline.STAGES))
    return calls


@pytest.fixture
def handed_on(app):
    """The events the audit log hands to its next stage (the pipeline's entry)."""
    seen = []
    state = app.extensions["plugin.security"]
    entry = state.next_stage
    assert entry is pipeline.process  # declared by the plugin's setup

    def spy(event):
        seen.append(event)
        return entry(event)

    state.next_stage = spy
    yield seen
    state.next_stage = entry


def _failures(app, count: int) -> None:
    for _ in range(count):
        emit(app, EventType.LOGIN_FAILURE, username="mallory", ip=ATTACKER)


def test_the_stages_run_in_their_declared_order_each_on_the_last_ones_result(app, stages):
    assert pipeline.STAGE_NAMES == ("detect", "report", "alert", "respond")
    _failures(app, 10)  # the 5th trips brute force per account; the 10th, per account and per IP
    names = [name for name, _, _ in stages]
    tripped = ["detect", "report", "alert", "respond"]
    assert names == ["detect"] * 4 + tripped + ["detect"] * 4 + tripped
    for (_, _, result), (_, took, _) in zip(stages, stages[1:], strict=False):
        if result:  # a stage that finds nothing ends the run; the next call is a new event
            assert took is result
    detected = [took for name, took, _ in stages if name == "report"]
    assert [[d.rule for d in found] for found in detected] == [
        ["brute_force_account"],
        ["brute_force_account", "brute_force_ip"],
    ]
    assert {alert.rule for alert in alerts(app)} == {"brute_force_account", "brute_force_ip"}


def test_a_detector_outside_the_rules_enters_at_the_report_stage(app, stages):
    found = Detection("privilege_probing", f"ip:{ATTACKER}", "probing", ip=ATTACKER)
    with app.app_context():
        (stored,) = pipeline.submit([found])
    assert [name for name, _, _ in stages] == ["report", "alert", "respond"]
    assert stored.metadata["rule"] == "privilege_probing"
    (alert,) = alerts(app, rule="privilege_probing")
    assert alert.event_count == 1


def test_what_the_response_stage_writes_is_stored_but_never_fed_back(app, stages, handed_on):
    _failures(app, 10)
    (block,) = [
        e for e in events_of(app, EventType.CONFIGURATION_CHANGE) if e.details.get("action") == "ip_block"
    ]
    assert block.ip_address == ATTACKER
    detections = events_of(app, EventType.BRUTE_FORCE_ATTEMPT)
    assert len(detections) == 3
    # The audit log handed on the ten sign-in failures only: not the detections (the report
    # stage gave them to the alert stage itself), not the block.
    assert [e.event_type for e in handed_on] == ["LOGIN_FAILURE"] * 10
    assert {took.id for name, took, _ in stages if name == "detect"} == {e.id for e in handed_on}
    assert block.id not in {e.id for e in handed_on} | {
        took.id for name, took, _ in stages if name == "detect"
    }


def test_even_an_input_event_written_by_a_later_stage_does_not_reach_the_rules(app, stages, monkeypatch):
    """The shape, not the event's type, keeps the loop out: a response that wrote a sign-in
    failure (the rules' own input) would have it stored, and no rule would read it."""
    from plugins.security.audit import append_event

    real = pipeline.STAGES[-1]

    def respond_and_write_input(outcomes):
        real.run(outcomes)
        for outcome in outcomes:
            append_event(
                EventType.LOGIN_FAILURE,
                ip=ATTACKER,
                description="written by a response",
                metadata={"username": "mallory", "alert_id": outcome.alert_id},
            )

    monkeypatch.setattr(
        pipeline,
        "STAGES",
        (*pipeline.STAGES[:-1], pipeline.Stage("respond", respond_and_write_input, real.takes, real.gives)),
    )
    _failures(app, 5)
    written = [e for e in events_of(app, EventType.LOGIN_FAILURE) if e.description == "written by a response"]
    assert len(written) == 1  # stored in the audit log ...
    detected = [took.id for name, took, _ in stages if name == "detect"]
    assert len(detected) == 5 and written[0].id not in detected  # ... and read by no rule
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuthFailure.id))) == 5


def _names_of_log_event(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(alias.name == "log_event" for alias in node.names):
            found.append(f"{path.name}:{node.lineno} imports log_event")
        elif isinstance(node, ast.Attribute) and node.attr == "log_event":
            found.append(f"{path.name}:{node.lineno} uses .log_event")
    return found


def test_no_stage_can_hand_an_event_back_to_the_pipeline():
    """Only audit.log_event calls the pipeline's entry; the threat part writes with append_event."""
    modules = sorted(THREATS.glob("*.py"))
    assert {"pipeline.py", "rules.py", "reporting.py", "alerts.py", "responses.py"} <= {
        p.name for p in modules
    }
    assert [found for path in modules for found in _names_of_log_event(path)] == []


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, pending = set(), [start]
    while pending:
        for target in graph[pending.pop()] - seen:
            seen.add(target)
            pending.append(target)
    return seen


def test_the_audit_log_and_the_shared_types_depend_on_no_stage():
    """The audit log reaches the pipeline only through the next stage its setup is given, and
    the types the stages share sit in leaves: neither imports a stage, even round about."""
    graph = build_graph(THREATS.parents[2], ("app", "plugins"))
    threat_modules = {name for name in graph if name.startswith("plugins.security.threats")}
    stages = {
        f"plugins.security.threats.{name}"
        for name in ("pipeline", "rules", "reporting", "alerts", "responses")
    }
    for module in ("plugins.security.audit", "plugins.security.repeats", "plugins.security.audit_record"):
        assert _reachable(graph, module) & threat_modules == set(), module
    assert _reachable(graph, "plugins.security.threats.detection") & stages == set()
    assert graph["plugins.security.audit_record"] <= {"app.models"}
