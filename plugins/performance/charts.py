"""Server-rendered SVG charts (no script, no inline style: colours come from classes and attributes)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 30


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return value


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], unit: str
) -> Markup:
    """An SVG line chart of ``series`` ((name, values) pairs) over ``labels``."""
    values = [v for _, points in series for v in points if v is not None]
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg class="chart perf-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        value = top * step / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                     'stroke="#d9dee4" stroke-width="1"/>')  # fmt: skip
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#5b6775">{value:g} {escape(unit)}</text>')  # fmt: skip
    for index in sorted({0, count // 2, count - 1}) if labels else ():
        parts.append(f'<text class="axis" x="{x(index):.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" '
                     f'fill="#5b6775">{escape(labels[index])}</text>')  # fmt: skip
    for number, (name, points) in enumerate(series):
        segment: list[str] = []
        segments = []
        for index, value in enumerate(points):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
            else:
                segment.append(f"{x(index):.1f},{y(value):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle class="series-{number}" cx="{cx}" cy="{cy}" r="2.5"/>')
            else:
                parts.append(
                    f'<polyline class="series-{number}" fill="none" stroke-width="2" points="{" ".join(seg)}"/>'
                )
        parts.append(f'<text class="legend series-{number}" x="{LEFT + 8 + 110 * number}" y="{TOP + 10}" '
                     f'font-size="12">{escape(name)}</text>')  # fmt: skip
    if not values:
        parts.append(f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#5b6775">'
                     "No requests in this range</text>")  # fmt: skip
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every interpolated text above is escaped)
