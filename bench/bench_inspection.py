"""Request inspection under crafted input: for each signature family (SQL injection, XSS, path
traversal), the worst of the adversarial inputs built from the family's own pieces against benign
text of the same size, at 1, 8 and 64 KB, for the RE2 signatures the portal runs and for the old
Python ``re`` ones, measured side by side in one run.

Each figure is the minimum of several repetitions (a loop of calls long enough to time) of this
thread's CPU time, which other processes on a shared machine do not add to. The old
engine is quadratic or worse on some inputs: at 64 KB an input whose 8 KB time, grown as the
family grew from 1 to 8 KB, would exceed --before-budget seconds is not run, and its projection
is printed with a "~".
Run: python bench/bench_inspection.py [--repeat 5] [--before-budget 20] [--no-before]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.security.adversarial import ADVERSARIAL, MATCHERS, benign, build, label  # noqa: E402

SIZES = (1024, 8192, 65536)


def measure(check, text: str, repeat: int) -> float:
    """Return seconds per call: the minimum over ``repeat`` timed loops of at least a millisecond."""
    start = time.thread_time()
    check(text)
    first = time.thread_time() - start
    if first > 0.5:  # slow already: the noise is small next to it
        return first
    loops = max(1, int(1e-3 / max(first, 1e-7)))
    return min(_time(check, text, loops) for _ in range(repeat))


def _time(check, text: str, loops: int) -> float:
    start = time.thread_time()
    for _ in range(loops):
        check(text)
    return (time.thread_time() - start) / loops


def run_family(family: str, engine: str, args) -> dict[int, tuple[float, float, str, bool]]:
    """Measure one family on one engine: {size: (benign s, worst s, worst input, projected)}."""
    check = MATCHERS[engine][family]
    results: dict[int, tuple[float, float, str, bool]] = {}
    previous: dict[tuple[str, str], float] = {}
    earlier: dict[tuple[str, str], float] = {}
    for size in SIZES:
        assert not check(benign(size)), "the benign text must pass unflagged"
        base = measure(check, benign(size), args.repeat)
        worst, worst_label, projected = 0.0, "", False
        for head, piece in ADVERSARIAL[family]:
            key = (head, piece)
            estimate = _projection(earlier.get(key), previous.get(key), size)
            if engine == "python-re" and estimate is not None and estimate > args.before_budget:
                seconds, was_projected = estimate, True
            else:
                seconds, was_projected = measure(check, build(head, piece, size), args.repeat), False
            earlier[key], previous[key] = previous.get(key), seconds
            if seconds > worst:
                worst, worst_label, projected = seconds, label(head, piece), was_projected
        results[size] = (base, worst, worst_label, projected)
    return results


def _projection(at_1k: float | None, at_8k: float | None, size: int) -> float | None:
    """Project the 64 KB time of an input, growing from 8 KB as it grew from 1 to 8 KB."""
    if size != SIZES[-1] or not at_1k or not at_8k:
        return None
    exponent = max(1.0, math.log(at_8k / at_1k) / math.log(SIZES[1] / SIZES[0]))
    return at_8k * (SIZES[2] / SIZES[1]) ** exponent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before-budget", type=float, default=20.0, help="seconds")
    parser.add_argument("--no-before", action="store_true", help="skip the old Python re engine")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each row as it is measured (the old engine is slow)
    engines = ["re2"] + ([] if args.no_before else ["python-re"])
    print(
        f"{'family':15} {'engine':9} {'size':>6} {'benign':>10} {'worst':>11} {'ratio':>9} "
        f"{'ns/byte':>9}  worst input"
    )
    summary: dict[str, list[tuple[float, float]]] = {engine: [] for engine in engines}
    for family in ADVERSARIAL:
        for engine in engines:
            results = run_family(family, engine, args)
            for size, (base, worst, worst_label, projected) in results.items():
                mark = "~" if projected else ""
                print(
                    f"{family:15} {engine:9} {size // 1024:>4}KB {_format(base):>10} "
                    f"{mark + _format(worst):>11} {mark}{worst / base:>7.1f}x {worst / size * 1e9:>9.1f}  "
                    f"{worst_label}"
                )
            growth = (results[65536][1] / 65536) / (results[8192][1] / 8192)
            print(f"{'':15} {engine:9} worst cost per byte, 64 KB / 8 KB: {growth:.2f}")
            summary[engine].append((max(w / b for b, w, _, _ in results.values()), growth))
    for engine, rows in summary.items():
        print(
            f"{engine}: worst ratio to benign {max(r for r, _ in rows):.1f}x, worst per-byte growth "
            f"8->64 KB {max(g for _, g in rows):.2f} (goal: at most 5x and 1)"
        )


def _format(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.1f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


if __name__ == "__main__":
    main()
