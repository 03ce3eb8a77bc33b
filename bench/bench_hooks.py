"""Where a signed-in request's time goes, hook by hook: each before- and after-request hook,
each request guard and the user's loading timed over many cached signed-in searches in process
(the scenario of bench_instructions.py: (a) every plugin, (b) cache and plans only).

The hooks' own times add up to less than the whole: the rest is Flask, werkzeug and the test
client around them, which both sides share except for what more hooks and more headers cost.
Timing every hook adds a little to each; compare the two sides of one run, not separate runs.
The performance flusher is kept asleep (bench_flush.py measures it), and so is the garbage
collector: with the flusher asleep, the raw rows pile up and make its passes dearer in (a) than a
gunicorn worker's (disabling it there changed (a)'s CPU per request by 0.1 %, 2026-12-03).

    .venv/bin/python bench/bench_hooks.py [--requests 3000] [--side a|b|both]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gc
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import bench_instructions  # noqa: E402  (bench/ is not a package)

from plugins.performance.state import EXTENSION as PERFORMANCE  # noqa: E402


def _timed(spent: Counter, label: str, func):
    @functools.wraps(func)
    def timed(*args, **kwargs):
        started = time.perf_counter_ns()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter_ns() - started

    return timed


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}".replace(".<locals>", "")


def instrument(app, spent: Counter) -> None:
    """Wrap every request hook, every guard and the user loader of ``app`` in a timer."""
    from app import request_pipeline
    from app.auth import service
    from app.extensions import login_manager

    for kind, table in (("before", app.before_request_funcs), ("after", app.after_request_funcs)):
        for funcs in table.values():
            funcs[:] = [_timed(spent, f"{kind} {_name(f)}", f) for f in funcs]
    guards = app.extensions.get(request_pipeline.GUARDS, ())
    app.extensions[request_pipeline.GUARDS] = tuple(
        dataclasses.replace(guard, func=_timed(spent, f"  guard {guard.name}", guard.func))
        for guard in guards
    )
    login_manager.user_loader(_timed(spent, "  (loading the user)", service.load_user))


def measure(side: str, requests: int) -> tuple[float, Counter]:
    """(µs per request, ns spent per label) for ``side`` over ``requests`` signed-in searches."""
    send, app = bench_instructions.signed_in_sender(side, tempfile.mkdtemp(prefix="bench-hooks-"))
    performance = app.extensions.get(PERFORMANCE)
    if performance is not None:
        # The flusher would wake every 1,000 requests, and its time would land in whichever hook
        # it interrupts; it is measured on its own by bench_flush.py. A buffer that holds every
        # measured request keeps it asleep.
        recorder = performance.recorder
        recorder.config = dataclasses.replace(recorder.config, batch_size=10**6, buffer_size=10**6)
    for number in range(300):  # warm-up: first requests, the cached answer
        send(number)
    spent: Counter = Counter()
    instrument(app, spent)
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        for number in range(requests):
            send(number)
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    return elapsed / requests * 1e6, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--side", choices=("a", "b", "both"), default="both")
    args = parser.parse_args()
    sides = ("a", "b") if args.side == "both" else (args.side,)
    totals = {}
    for side in sides:
        per_request, spent = measure(side, args.requests)
        totals[side] = per_request
        print(f"({side}) {per_request:.1f} µs per request; hooks and guards:")
        for label, ns in spent.most_common():
            print(f"  {ns / args.requests / 1000:8.2f} µs  {label}")
    if len(totals) == 2:
        print(f"(a) - (b): {totals['a'] - totals['b']:.1f} µs per request")


if __name__ == "__main__":
    main()
