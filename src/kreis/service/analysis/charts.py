"""The complaint report's charts as SVG (attributes only: no scripts, no inline styles, so they
pass the Content-Security-Policy and render in WeasyPrint): a Pareto chart (bars with the
cumulative share as a line and the 80 % line), trend lines, and a histogram. Every text is
escaped; each chart carries a <title> with its formula for hovering."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BLUE, RED, GREY = "#2f6fdf", "#dc3545", "#6c757d"
LINE_COLORS = ("#2f6fdf", "#dc3545", "#198754", "#fd7e14", "#6f42c1")
WIDTH, HEIGHT = 560, 250
LEFT, RIGHT, TOP, BOTTOM = 64, 44, 14, 78


def _svg(parts: list[str], *, title: str, label: str) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'class="case-chart"><title>{escape(title)}</title>'
    )
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308 - every text is escaped


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _x_labels(labels: list[str], x_of, step: float) -> list[str]:
    parts = []
    base = HEIGHT - BOTTOM + 12
    for i, label in enumerate(labels):
        x = x_of(i)
        parts.append(
            f'<text x="{x:.1f}" y="{base}" font-size="12" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {base})">{escape(_short(label))}</text>'
        )
    return parts


def _axes(top: int, *, right_percent: bool) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="{GREY}" stroke-width="1"/>'
    ]
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        value = top * frac
        shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        parts.append(
            f'<text x="{LEFT - 4}" y="{y + 3:.1f}" font-size="12" text-anchor="end">{shown}</text>'
        )
        if right_percent:
            parts.append(
                f'<text x="{WIDTH - RIGHT + 4}" y="{y + 3:.1f}" font-size="12">'
                f"{round(100 * frac)} %</text>"
            )
    return parts


def pareto_svg(items: list[dict], *, title: str, label: str, line_label: str) -> SafeString:
    """Bars of the counts (vital few darker), the cumulative share as a line, the 80 % line."""
    if not items:
        return _svg([], title=title, label=label)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max(i["count"] for i in items) or 1
    step = plot_w / len(items)

    def x_of(i: int) -> float:
        return LEFT + step * (i + 0.5)

    parts = _axes(top, right_percent=True)
    y80 = TOP + plot_h * 0.2
    parts.append(
        f'<line x1="{LEFT}" y1="{y80:.1f}" x2="{WIDTH - RIGHT}" y2="{y80:.1f}" stroke="{GREY}" '
        f'stroke-dasharray="4 3" stroke-width="1"><title>{escape(line_label)}</title></line>'
    )
    points = []
    for i, item in enumerate(items):
        h = plot_h * item["count"] / top
        bar_w = step * 0.7
        color = BLUE if item["vital_few"] else "#9ec0f5"
        parts.append(
            f'<rect x="{x_of(i) - bar_w / 2:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{escape(item["label"])}: {item["count"]} '
            f"({item['share']} %, Σ {item['cumulative']} %)</title></rect>"
        )
        points.append(f"{x_of(i):.1f},{TOP + plot_h * (1 - item['cumulative'] / 100):.1f}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{RED}" stroke-width="2"/>'
    )
    for point in points:
        x, y = point.split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{RED}"/>')
    parts += _x_labels([i["label"] for i in items], x_of, step)
    return _svg(parts, title=title, label=label)


def lines_svg(periods: list[str], series: list[dict], *, title: str, label: str) -> SafeString:
    """One line per series over the periods (their short labels), with a legend below."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([v for s in series for v in s["values"]] or [0]) or 1
    step = plot_w / max(len(periods) - 1, 1)

    def x_of(i: int) -> float:
        return LEFT + step * i

    parts = _axes(top, right_percent=False)
    for n, line in enumerate(series):
        color = LINE_COLORS[n % len(LINE_COLORS)]
        points = " ".join(
            f"{x_of(i):.1f},{TOP + plot_h * (1 - v / top):.1f}"
            for i, v in enumerate(line["values"])
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2">'
            f"<title>{escape(line['label'])}</title></polyline>"
        )
        legend_x = LEFT + (n % 2) * 240
        legend_y = HEIGHT - 34 + (n // 2) * 14
        parts.append(
            f'<rect x="{legend_x}" y="{legend_y - 8}" width="10" height="3" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{legend_y - 4}" font-size="12">'
            f"{escape(_short(line['label'], 30))}</text>"
        )
    base = HEIGHT - BOTTOM + 12
    for i, period in enumerate(periods):
        if i % 2 == 0 or i == len(periods) - 1:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{base}" font-size="11" text-anchor="middle">'
                f"{escape(period)}</text>"
            )
    return _svg(parts, title=title, label=label)


def histogram_svg(buckets: list[dict], *, title: str, label: str) -> SafeString:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([b["count"] for b in buckets] or [0]) or 1
    step = plot_w / max(len(buckets), 1)

    def x_of(i: int) -> float:
        return LEFT + step * (i + 0.5)

    parts = _axes(top, right_percent=False)
    for i, bucket in enumerate(buckets):
        h = plot_h * bucket["count"] / top
        parts.append(
            f'<rect x="{x_of(i) - step * 0.42:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{step * 0.84:.1f}" height="{h:.1f}" fill="{BLUE}">'
            f"<title>{escape(bucket['label'])}: {bucket['count']}</title></rect>"
        )
        if bucket["count"]:
            parts.append(
                f'<text x="{x_of(i):.1f}" y="{TOP + plot_h - h - 3:.1f}" font-size="12" '
                f'text-anchor="middle">{bucket["count"]}</text>'
            )
    parts += _x_labels([b["label"] for b in buckets], x_of, step)
    return _svg(parts, title=title, label=label)
