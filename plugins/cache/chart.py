"""The hit-ratio chart as server-rendered SVG (presentation attributes only: the CSP forbids
inline styles and scripts)."""

from __future__ import annotations

from datetime import UTC, datetime

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 640, 200, 36


def ratio_chart(series: list[tuple[float, float | None]]) -> Markup:
    """An SVG line of the hit ratio (0-100 %) over time; intervals without lookups are gaps."""
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'role="img" aria-labelledby="cache-chart-title" xmlns="http://www.w3.org/2000/svg">',
        '<title id="cache-chart-title">Cache hit ratio over time</title>',
    ]
    for percent in (0, 50, 100):
        y = PAD + plot_h * (1 - percent / 100)
        parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{PAD - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{percent}%</text>'
        )
    points = [(t, r) for t, r in series if r is not None]
    if not points:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" font-size="13" text-anchor="middle" fill="#666">'
            "No lookups yet</text>"
        )
    else:
        start, end = series[0][0], series[-1][0]
        span = max(end - start, 1.0)

        def x_of(moment: float) -> float:
            return PAD + plot_w * ((moment - start) / span if len(series) > 1 else 1.0)

        segments: list[list[str]] = [[]]
        for moment, ratio in series:
            if ratio is None:
                segments.append([])
                continue
            segments[-1].append(f"{x_of(moment):.1f},{PAD + plot_h * (1 - ratio):.1f}")
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="#1f6fb2" stroke-width="2"/>'
                )
        for moment, ratio in points:
            label = escape(f"{datetime.fromtimestamp(moment, UTC):%H:%M:%S} UTC: {ratio:.0%}")
            parts.append(
                f'<circle cx="{x_of(moment):.1f}" cy="{PAD + plot_h * (1 - ratio):.1f}" r="3" fill="#1f6fb2">'
                f"<title>{label}</title></circle>"
            )
        for moment, anchor in ((start, "start"), (end, "end")):
            stamp = datetime.fromtimestamp(moment, UTC).strftime("%H:%M")
            parts.append(
                f'<text x="{x_of(moment):.1f}" y="{HEIGHT - 8}" font-size="11" text-anchor="{anchor}">{stamp}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (numbers and escaped labels only)
