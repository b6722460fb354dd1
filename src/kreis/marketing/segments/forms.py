"""Forms for segments: the definition with its condition rows, and static member changes."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.core.models import SavedView, Team, User
from kreis.marketing.models import Segment
from kreis.marketing.segments.queries import (
    ConditionError,
    ConditionField,
    clean_condition,
)

ROW = re.compile(r"^c-(\d{1,3})-field$")
MAX_ROWS = 30


class SegmentForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "description", "kind", "match", "team"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        teams = Team.objects.all() if user.is_admin else Team.objects.filter(pk__in=user.team_ids())
        self.fields["team"].queryset = teams


@dataclass
class ConditionRow:
    """One row of the builder as typed, with its error (if any) and the cleaned condition."""

    index: int
    field: str = ""
    op: str = ""
    value: str = ""
    to: str = ""
    error: str = ""
    cleaned: dict | None = None
    spec: ConditionField | None = dataclasses.field(default=None, repr=False)


def rows_from_conditions(conditions: list[dict]) -> list[ConditionRow]:
    """The stored conditions as builder rows (values as typed: lists comma-separated)."""
    rows = []
    for n, condition in enumerate(conditions or []):
        value = condition.get("value")
        row = ConditionRow(index=n, field=condition.get("field", ""), op=condition.get("op", ""))
        if condition.get("op") == "between" and isinstance(value, list) and len(value) == 2:
            row.value, row.to = str(value[0]), str(value[1])
        elif isinstance(value, list):
            row.value = ", ".join(str(v) for v in value)
        elif isinstance(value, bool):
            row.value = "yes" if value else "no"
        elif value is not None:
            row.value = str(value)
        rows.append(row)
    return rows


def rows_from_post(data, fields: dict[str, ConditionField]) -> list[ConditionRow]:
    """The builder's rows from a form post (``c-<n>-field``, ``-op``, ``-value``, ``-to``),
    each checked; rows without a field are left out."""
    indexes = sorted({int(m.group(1)) for key in data if (m := ROW.match(key))})[:MAX_ROWS]
    rows = []
    for n in indexes:
        row = ConditionRow(
            index=len(rows),
            field=(data.get(f"c-{n}-field") or "").strip(),
            op=(data.get(f"c-{n}-op") or "").strip(),
            value=(data.get(f"c-{n}-value") or "").strip(),
            to=(data.get(f"c-{n}-to") or "").strip(),
        )
        if not row.field:
            continue
        row.spec = fields.get(row.field)
        try:
            if row.spec is None:
                raise ConditionError(_("Choose a field."))
            value: object = row.value
            if row.op == "between":
                value = [row.value, row.to] if row.value and row.to else []
                if not value:
                    raise ConditionError(_("Enter two values: from and to."))
            row.cleaned = clean_condition(row.spec, row.op, value)
        except ConditionError as exc:
            row.error = str(exc.args[0])
        rows.append(row)
    return rows


class MembersForm(forms.Form):
    """Parties for a static list: IDs (one per line or separated by commas), or all the
    parties one of the user's saved party views shows."""

    ids = forms.CharField(
        label=_("Party IDs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text=_("Separated by commas, spaces or lines, e.g. 12, 40, 41."),
    )
    view = forms.ModelChoiceField(
        label=_("… or all parties of a saved view"),
        queryset=SavedView.objects.none(),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["view"].queryset = SavedView.objects.filter(user=user, list_name="parties")
        self.fields["view"].empty_label = _("— none —")

    def clean_ids(self) -> list[int]:
        text = self.cleaned_data.get("ids") or ""
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        bad = [p for p in parts if not p.isdigit()]
        if bad:
            raise forms.ValidationError(
                _("Not a party ID: %(values)s") % {"values": ", ".join(bad[:5])}
            )
        if len(parts) > 10_000:
            raise forms.ValidationError(_("At most 10,000 IDs at once."))
        return [int(p) for p in parts]

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("ids") and not data.get("view"):
            raise forms.ValidationError(_("Enter party IDs or choose a saved view."))
        return data
