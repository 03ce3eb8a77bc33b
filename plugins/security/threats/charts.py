"""Server-rendered SVG chart geometry (the template draws it; colours come from CSS classes)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 40, 24, 10
SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
LINE_CLASSES = ("s1", "s2", "s3", "s4", "s5")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Line:
    points: str
    css: str
    label: str
    total: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    lines: list[Line]
    peak: int
    ticks: list[tuple[float, str]]  # x position and label of a few buckets
    baseline_y: float


def _scale(peak: int):
    plot = HEIGHT - BOTTOM - TOP
    return lambda value: plot * value / peak if peak else 0.0


def _ticks(labels: list[str], step: float) -> list[tuple[float, str]]:
    every = max(1, len(labels) // 6)
    hourly = len({label[11:13] for label in labels}) > 1
    return [
        (round(LEFT + step * (i + 0.5), 1), label[11:16] if hourly else label[5:10])
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_severity(labels: list[str], data: dict[str, dict[str, int]]) -> Chart:
    """Stacked bars: events per bucket, one segment per severity."""
    peak = max((sum(data.get(label, {}).values()) for label in labels), default=0)
    scale = _scale(peak)
    step = (WIDTH - LEFT) / max(len(labels), 1)
    bars: list[Bar] = []
    for i, label in enumerate(labels):
        y = HEIGHT - BOTTOM
        for severity in SEVERITIES:
            count = data.get(label, {}).get(severity, 0)
            if not count:
                continue
            height = scale(count)
            y -= height
            bars.append(
                Bar(
                    round(LEFT + step * i + 1, 1),
                    round(y, 1),
                    round(max(step - 2, 1), 1),
                    round(height, 1),
                    f"sev-{severity.lower()}",
                    f"{label} UTC: {count} {severity}",
                )
            )
    return Chart(WIDTH, HEIGHT, bars, [], peak, _ticks(labels, step), HEIGHT - BOTTOM)


def type_lines(labels: list[str], data: dict[str, dict[str, int]], top: int = 5) -> Chart:
    """One line per event type (the ``top`` most frequent) over the buckets."""
    totals: dict[str, int] = {}
    for per_type in data.values():
        for kind, count in per_type.items():
            totals[kind] = totals.get(kind, 0) + count
    kinds = sorted(totals, key=lambda k: (-totals[k], k))[:top]
    peak = max((data.get(label, {}).get(kind, 0) for label in labels for kind in kinds), default=0)
    scale = _scale(peak)
    step = (WIDTH - LEFT) / max(len(labels), 1)
    lines = []
    for index, kind in enumerate(kinds):
        points = " ".join(
            f"{LEFT + step * (i + 0.5):.1f},{HEIGHT - BOTTOM - scale(data.get(label, {}).get(kind, 0)):.1f}"
            for i, label in enumerate(labels)
        )
        lines.append(Line(points, LINE_CLASSES[index % len(LINE_CLASSES)], kind, totals[kind]))
    return Chart(WIDTH, HEIGHT, [], lines, peak, _ticks(labels, step), HEIGHT - BOTTOM)
