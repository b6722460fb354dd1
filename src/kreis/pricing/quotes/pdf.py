"""The quote as PDF (WeasyPrint), in the customer's language."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation

from kreis.pricing.models import Quote

PDF_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: sans-serif; font-size: 10pt; color: #222; }
h1 { font-size: 17pt; margin-bottom: 2pt; } .meta { color: #555; font-size: 9pt; }
table { border-collapse: collapse; width: 100%; margin: 12pt 0; }
th, td { border-bottom: 0.5pt solid #ccc; padding: 3pt 4pt; text-align: left; vertical-align: top; }
.num { text-align: right; white-space: nowrap; } tfoot th { border-bottom: none; }
.small { font-size: 8pt; color: #555; }
"""


def quote_html(quote: Quote) -> str:
    with translation.override(quote.language):
        return render_to_string(
            "pricing/quote_pdf.html",
            {
                "quote": quote,
                "lines": list(quote.lines.order_by("position", "pk")),
                "css": PDF_CSS,
                "today": timezone.localdate(),
                "discount_total": quote.gross_total - quote.net_total,
            },
        )


def render_quote_pdf(quote: Quote) -> bytes:
    from weasyprint import HTML

    return HTML(string=quote_html(quote)).write_pdf()
