"""The documentation phase: the survey's report (HTML with SVG charts), archived as a
``SurveyReport`` row; and the chart data of the analysis page (ECharts)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kreis.core.models import User
from kreis.feedback import analysis
from kreis.feedback.models import QuestionKind, Survey, SurveyPhase, SurveyReport
from kreis.parties.models import AbcClass, LifecyclePhase, RfmSegment


def breakdown_labels() -> dict[str, dict[str, str]]:
    unknown = _("unknown")
    return {
        "abc_class": {"": unknown, **{v: str(label) for v, label in AbcClass.choices}},
        "lifecycle_phase": {"": unknown, **{v: str(label) for v, label in LifecyclePhase.choices}},
        "segment": {"": unknown, **{v: str(label) for v, label in RfmSegment.choices}},
    }


def breakdown_tables(data: dict) -> list[tuple[str, str, list]]:
    """The breakdowns as (group, title, [(label, scores)]) rows for the templates."""
    labels = breakdown_labels()
    titles = {
        "abc_class": _("By ABC class"),
        "lifecycle_phase": _("By lifecycle phase"),
        "segment": _("By RFM segment"),
    }
    return [
        (
            group,
            titles[group],
            [(labels[group].get(key, key), scores) for key, scores in rows.items()],
        )
        for group, rows in data["breakdowns"].items()
    ]


def chart_data(data: dict, language: str) -> dict:
    """Per question the distribution of its answers, for the analysis page's ECharts."""
    charts = []
    for item in data["questions"]:
        text = item["text_de"] if language == "de" else item["text_en"]
        if item["kind"] == QuestionKind.NPS:
            points = [str(v) for v in range(11)]
        elif item["kind"] == QuestionKind.SCALE:
            points = [str(v) for v in range(1, 6)]
        elif item["kind"] == QuestionKind.EXPECTATION:
            charts.append(
                {
                    "id": item["id"],
                    "title": text,
                    "kind": "expectation",
                    "labels": [_("delighted"), _("satisfied"), _("dissatisfied")],
                    "values": [
                        round(item.get(k) or 0, 1)
                        for k in ("delighted", "satisfied", "dissatisfied")
                    ],
                }
            )
            continue
        else:
            continue
        charts.append(
            {
                "id": item["id"],
                "title": text,
                "kind": item["kind"],
                "labels": points,
                "values": [item["counts"].get(p, 0) for p in points],
            }
        )
    return {"charts": charts, "count_label": _("answers"), "share_label": _("share (%)")}


def svg_bars(labels: list[str], values: list[float], *, unit: str = "") -> SafeString:
    """A horizontal bar chart as SVG (attributes only: fine under the CSP and in a PDF)."""
    top = max([v for v in values if v] or [1])
    row, label_w, bar_w = 22, 110, 300
    height = row * len(labels) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 70}" '
        f'height="{height}" role="img" class="survey-chart">'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = i * row + 2
        width = 0 if not value else max(1, round(bar_w * value / top))
        shown = f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row - 8}" fill="#2f6fdf"/>'
            f'<text x="{label_w + width + 4}" y="{y + 15}" font-size="12">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def report_html(survey: Survey, *, language: str) -> str:
    """The report as a standalone HTML document, in the given language."""
    data = analysis.survey_analysis(survey)
    with translation.override(language):
        sections = []
        for chart in chart_data(data, language)["charts"]:
            unit = " %" if chart["kind"] == "expectation" else ""
            sections.append(
                {
                    "title": chart["title"],
                    "svg": svg_bars(chart["labels"], chart["values"], unit=unit),
                }
            )
        texts = {
            q["id"]: (q["text_de"] if language == "de" else q["text_en"]) for q in data["questions"]
        }
        return render_to_string(
            "feedback/report.html",
            {
                "survey": survey,
                "data": data,
                "sections": sections,
                "free_text": [
                    {"question": texts.get(t["question_id"], ""), "text": t["text"]}
                    for t in data["free_text"]
                ],
                "breakdowns": breakdown_tables(data),
                "created_at": timezone.now(),
                "language": language,
            },
        )


PDF_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: sans-serif; font-size: 10pt; color: #222; }
h1 { font-size: 17pt; } h2 { font-size: 13pt; margin-top: 14pt; } h3 { font-size: 11pt; }
table { border-collapse: collapse; width: 100%; margin-bottom: 8pt; }
th, td { border-bottom: 0.5pt solid #ccc; padding: 2pt 4pt; text-align: left; }
.text-end { text-align: right; } .meta, .formula { color: #555; font-size: 8.5pt; }
.visually-hidden { display: none; }
"""


def report_pdf(html: str) -> bytes:
    """The report as PDF (WeasyPrint), the fragment wrapped in a print page."""
    from weasyprint import HTML

    document = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>{PDF_CSS}</style></head>'
        f"<body>{html}</body></html>"
    )
    return HTML(string=document).write_pdf()


@transaction.atomic
def report_create(*, actor: User | None, survey: Survey, language: str = "") -> SurveyReport:
    """Write the survey's report (HTML and PDF) and archive it with the survey."""
    if actor is not None and not actor.has_perm("feedback.manage_survey", survey):
        raise PermissionDenied
    if survey.phase != SurveyPhase.DOCUMENTATION:
        raise ValidationError(_("The report is written in the documentation phase."))
    language = language or translation.get_language() or survey.language
    html = report_html(survey, language=language)
    return SurveyReport.objects.create(
        survey=survey, html=html, pdf=report_pdf(html), created_by=actor
    )
