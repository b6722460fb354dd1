"""The form builder: a web form's settings, and its field rows (key, label, required) read
from and written to the page as numbered inputs, so that moving, adding and removing rows
works with the keyboard and without JavaScript (each is a submit button of the page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.marketing.models import Campaign, ConsentPurpose, LeadForm
from kreis.marketing.webforms.services import field_choices

MAX_ROWS = 40


class LeadFormForm(forms.ModelForm):
    redirect_url = forms.URLField(
        label=_("Redirect after sending"),
        required=False,
        assume_scheme="https",
        help_text=_("Instead of the thank-you text: the page the visitor goes to."),
    )
    consent_purposes = forms.MultipleChoiceField(
        label=_("Consents asked"),
        choices=ConsentPurpose.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each shows the current consent text of its purpose in the form's language."),
    )

    class Meta:
        model = LeadForm
        fields = [
            "name",
            "key",
            "language",
            "title",
            "intro",
            "submit_label",
            "thank_you_text",
            "redirect_url",
            "allowed_origins",
            "campaign",
            "lead_source",
            "is_active",
        ]
        widgets = {
            "intro": forms.Textarea(attrs={"rows": 3}),
            "thank_you_text": forms.Textarea(attrs={"rows": 3}),
            "allowed_origins": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.order_by("name")
        self.fields["campaign"].required = False
        self.fields["campaign"].help_text = _(
            "Without one, the campaign whose code matches the page's utm_campaign is used."
        )
        if self.instance.pk:
            self.fields["consent_purposes"].initial = self.instance.consent_purposes
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")
            if name == "key":
                widget.attrs["autocomplete"] = "off"


def rows_from_post(data) -> list[dict[str, Any]]:
    """The field rows as the page sent them (``row-<n>-key``, ``-label``, ``-required``)."""
    try:
        count = min(int(data.get("rows", 0)), MAX_ROWS + 1)
    except (TypeError, ValueError):
        count = 0
    rows = []
    for n in range(count):
        key = (data.get(f"row-{n}-key") or "").strip()
        if not key:
            continue
        rows.append(
            {
                "key": key,
                "label": (data.get(f"row-{n}-label") or "").strip()[:100],
                "required": data.get(f"row-{n}-required") in ("on", "1", "true"),
            }
        )
    return rows


def apply_row_action(rows: list[dict[str, Any]], action: str, new_key: str) -> list[dict]:
    """Move a row up or down, remove it, or add a field at the end (not one already there)."""
    rows = list(rows)
    verb, _sep, index = action.partition(":")
    if verb == "add":
        if new_key and new_key not in {r["key"] for r in rows} and len(rows) < MAX_ROWS:
            rows.append({"key": new_key, "label": "", "required": new_key == "last_name"})
        return rows
    try:
        i = int(index)
    except ValueError:
        return rows
    if not 0 <= i < len(rows):
        return rows
    if verb == "up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif verb == "down" and i < len(rows) - 1:
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    elif verb == "remove":
        rows.pop(i)
    return rows


def labelled_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the name of their field, for the builder's table."""
    names = dict(field_choices())
    return [row | {"field_name": names.get(row["key"], row["key"])} for row in rows]
