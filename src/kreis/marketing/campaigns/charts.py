"""Campaign charts as SVG (attributes only: no scripts, no inline styles, so they pass the
Content-Security-Policy), drawn like the complaint report's charts: the funnel of one campaign
as horizontal bars, and a comparison of campaigns (leads and won deals side by side). Every
text is escaped; each chart carries a <title> for hovering."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BLUE, GREEN, GREY = "#2f6fdf", "#198754", "#6c757d"
WIDTH = 560
LABEL_W, BAR_H, GAP, TOP = 150, 26, 10, 8


def _svg(parts: list[str], *, height: int, title: str, label: str) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" '
        f'class="campaign-chart"><title>{escape(title)}</title>'
    )
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308 - every text is escaped


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def funnel_svg(stages: list[dict], *, title: str, label: str) -> SafeString:
    """``stages``: ``[{"label": …, "count": …}, …]`` from the widest to the narrowest; each bar
    is centred, its width its share of the largest stage."""
    top = max([s["count"] for s in stages] or [0]) or 1
    plot_w = WIDTH - LABEL_W - 10
    parts = []
    for i, stage in enumerate(stages):
        y = TOP + i * (BAR_H + GAP)
        w = max(plot_w * stage["count"] / top, 2 if stage["count"] else 0)
        x = LABEL_W + (plot_w - w) / 2
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + BAR_H / 2 + 4:.1f}" font-size="13" '
            f'text-anchor="end">{escape(_short(stage["label"]))}</text>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" rx="3" '
            f'fill="{GREEN if i == len(stages) - 1 else BLUE}">'
            f"<title>{escape(stage['label'])}: {stage['count']}</title></rect>"
        )
        parts.append(
            f'<text x="{LABEL_W + plot_w / 2:.1f}" y="{y + BAR_H / 2 + 4:.1f}" font-size="13" '
            f'text-anchor="middle" fill="{"#fff" if w > 40 else "#000"}">{stage["count"]}</text>'
        )
    height = TOP * 2 + len(stages) * (BAR_H + GAP)
    return _svg(parts, height=height, title=title, label=label)


def compare_svg(rows: list[dict], *, first: str, second: str, title: str, label: str) -> SafeString:
    """Two bars per campaign: ``rows`` ``[{"label": …, "a": n, "b": m}, …]`` with ``a`` named
    ``first`` (blue) and ``b`` named ``second`` (green)."""
    top = max([max(r["a"], r["b"]) for r in rows] or [0]) or 1
    plot_w = WIDTH - LABEL_W - 50
    bar = 11
    parts = [
        f'<rect x="{LABEL_W}" y="2" width="10" height="10" fill="{BLUE}"/>'
        f'<text x="{LABEL_W + 14}" y="11" font-size="12">{escape(first)}</text>',
        f'<rect x="{LABEL_W + 140}" y="2" width="10" height="10" fill="{GREEN}"/>'
        f'<text x="{LABEL_W + 154}" y="11" font-size="12">{escape(second)}</text>',
    ]
    for i, row in enumerate(rows):
        y = 22 + i * (2 * bar + GAP)
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + bar + 4}" font-size="12" text-anchor="end">'
            f"{escape(_short(row['label']))}</text>"
        )
        for j, (key, color, name) in enumerate((("a", BLUE, first), ("b", GREEN, second))):
            w = plot_w * row[key] / top
            yy = y + j * bar
            parts.append(
                f'<rect x="{LABEL_W}" y="{yy}" width="{w:.1f}" height="{bar - 1}" fill="{color}">'
                f"<title>{escape(row['label'])} · {escape(name)}: {row[key]}</title></rect>"
                f'<text x="{LABEL_W + w + 4:.1f}" y="{yy + bar - 2}" font-size="11">'
                f"{row[key]}</text>"
            )
    height = 22 + len(rows) * (2 * bar + GAP) + 4
    return _svg(parts, height=height, title=title, label=label)
