"""The compliance report's chart as SVG (attributes only: no script, no inline style, so it
passes the Content-Security-Policy): one stacked bar per rep or team — in time, late,
recycled, still open — with the compliance percentage at its end. Every text is escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

PARTS = (
    ("in_time", "#198754"),
    ("late", "#fd7e14"),
    ("recycled", "#dc3545"),
    ("open", "#adb5bd"),
)
WIDTH, LABEL, RIGHT, BAR, GAP, TOP = 560, 150, 60, 18, 10, 28


def compliance_bars_svg(rows, *, label: str) -> SafeString:
    """Stacked bars of the rows (``ComplianceRow``s); the longest bar spans the plot."""
    names = {
        "in_time": _("in time"),
        "late": _("late"),
        "recycled": _("recycled"),
        "open": _("open"),
    }
    height = TOP + max(len(rows), 1) * (BAR + GAP) + 4
    plot = WIDTH - LABEL - RIGHT
    top = max((r.handoffs for r in rows), default=0) or 1
    parts = []
    x = LABEL
    for key, color in PARTS:  # the legend
        parts.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14}" y="13" font-size="11">{escape(names[key])}</text>')
        x += 20 + 7 * len(names[key])
    for i, row in enumerate(rows):
        y = TOP + i * (BAR + GAP)
        name = row.name if len(row.name) <= 22 else row.name[:21] + "…"
        parts.append(
            f'<text x="{LABEL - 6}" y="{y + BAR - 5}" font-size="12" text-anchor="end">'
            f"{escape(name)}</text>"
        )
        x = float(LABEL)
        for key, color in PARTS:
            count = getattr(row, key)
            if not count:
                continue
            w = plot * count / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{color}">'
                f"<title>{escape(row.name)}: {escape(names[key])} {count}</title></rect>"
            )
            x += w
        shown = "—" if row.compliance is None else f"{row.compliance:.0f} %"
        parts.append(f'<text x="{x + 6:.1f}" y="{y + BAR - 5}" font-size="12">{shown}</text>')
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(label)}" '
        f'class="handoff-chart"><title>{escape(label)}</title>'
    )
    return mark_safe(head + "".join(parts) + "</svg>")  # noqa: S308 - every text is escaped
