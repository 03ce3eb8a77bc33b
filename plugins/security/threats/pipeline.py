"""The security-event pipeline: the stages in order, and the two ways an event enters it.

    audit log      detect           report            alert             respond
    log_event ---> rules ---------> reporting ------> alerts ---------> responses
    (a stored      inline_detections report           raise_alerts      respond
     event)        -> [Detection]    -> [RecordedEvent] -> [AlertOutcome] (block, notify)

Each stage takes what the stage before returned; this module is the one owner that calls them,
in the order of ``STAGES``. The audit log (``plugins/security/audit.py``) is the first stage: the
security plugin's setup (``plugins/security/hooks.py``) names ``process`` as its next stage.

Why it cannot loop: only ``audit.log_event`` (used by callers outside the pipeline) hands an
event to ``process``. The stages write with ``audit.append_event``, which stores the event
(chain, SIEM line, the ``event_recorded`` signal for observers) and returns it to the caller
alone, and no module of the threat part imports ``log_event`` (a test reads their imports). A
detection event is therefore read by the alert stage only because the report stage returned it,
and an event written by the response stage ("IP blocked") or by an admin's change is stored and
read by no stage. No flag is needed to stop a recursion: there is no path back.

Where a new piece plugs in: an inline detector is a function ``(RecordedEvent) ->
list[Detection]`` called from ``rules.inline_detections`` (its rule in ``catalog.RULES``); a
detector that runs elsewhere (a job, a request hook) hands its detections to ``submit``; a new
response goes in ``responses.respond_to``; what the alert stage does is ``alerts.record_detection``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app.connection_hold import release_request_connection
from plugins.security.audit_record import RecordedEvent
from plugins.security.threats import alerts, reporting, responses, rules
from plugins.security.threats.catalog import INPUT_TYPES
from plugins.security.threats.detection import Detection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One stage: its name and the function that takes the stage before's result."""

    name: str
    run: Callable[[Any], Any]
    takes: str
    gives: str


STAGES: tuple[Stage, ...] = (
    Stage("detect", rules.inline_detections, "an input event", "detections"),
    Stage("report", reporting.report, "detections", "the detection events stored"),
    Stage("alert", alerts.raise_alerts, "detection events", "the alerts opened or grown"),
    Stage("respond", responses.respond, "the alerts opened or grown", "nothing"),
)
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def run(value: Any, start: str = "detect", stop: str = "respond") -> Any:
    """Run the stages from ``start`` to ``stop`` in order, each on what the one before returned;
    return the last one's result. A stage that returns nothing ends the run."""
    first, last = STAGE_NAMES.index(start), STAGE_NAMES.index(stop)
    for stage in STAGES[first : last + 1]:
        value = stage.run(value)
        if not value:
            break
    return value


def process(event: RecordedEvent) -> None:
    """The audit log's next stage: run the pipeline on an event stored for a caller outside it.

    An input event (a sign-in, a wrong second-factor code) enters at the detect stage. A detection
    event that arrives here was not reported by the pipeline (the count of a detection's repeats
    that the audit log stores on its own, or one logged by hand): it enters at the alert stage.
    Every other event needs nothing from the pipeline."""
    if not current_app.config["SECURITY_DETECTION_ENABLED"]:
        return
    if event.event_type in INPUT_TYPES:
        start = "detect"
    elif alerts.is_detection(event):
        start = "alert"
    else:
        return
    # The rules and alerts commit on connections of their own: give back the request's first.
    release_request_connection()
    try:
        run(event if start == "detect" else [event], start=start)
    except Exception:  # detection must never break the request or job that logged the event
        log.exception("threat detection failed on event %s", event.id)


def submit(detections: Iterable[Detection]) -> list[RecordedEvent]:
    """Run the pipeline from the report stage on what a detector outside the detect stage found
    (the scheduled scan, the session check); return the detection events stored. With detection
    switched off the detections are recorded and raise no alert."""
    detections = list(detections)
    if not detections:
        return []
    release_request_connection()
    stored = run(detections, start="report", stop="report")
    if stored and current_app.config["SECURITY_DETECTION_ENABLED"]:
        try:
            run(stored, start="alert")
        except Exception:  # as above: the request or job that found them goes on
            log.exception("alerting failed on events %s", [event.id for event in stored])
    return stored
