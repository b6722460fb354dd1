"""The feature weights of the predictive model as horizontal bars (SVG, attributes only: fine
under the Content-Security-Policy). Green bars raise the chance of conversion, red ones lower
it; every text is escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

UP, DOWN = "#198754", "#dc3545"
ROW, LABEL_W, BAR_W, VALUE_W = 26, 250, 260, 64


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def weights_svg(rows: list[dict], *, title: str) -> SafeString:
    """``rows``: label, weight (≥ 0), up (bool); the widest bar is the largest weight."""
    top = max([r["weight"] for r in rows if r["weight"] > 0] or [1.0])
    width = LABEL_W + BAR_W + VALUE_W
    height = ROW * len(rows) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="scoring-chart" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>'
    ]
    for i, row in enumerate(rows):
        y = i * ROW + 3
        bar = 0 if row["weight"] <= 0 else max(2, round(BAR_W * row["weight"] / top))
        color = UP if row["up"] else DOWN
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 16}" text-anchor="end" font-size="13">'
            f"{escape(_short(row['label']))}</text>"
            f'<rect x="{LABEL_W}" y="{y + 4}" width="{bar}" height="{ROW - 10}" fill="{color}">'
            f"<title>{escape(row['label'])}: {row['weight']:.3f}</title></rect>"
            f'<text x="{LABEL_W + bar + 5}" y="{y + 16}" font-size="12">'
            f"{row['weight']:.3f}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
