"""Forms of the scoring models: the model, its criteria (a formset) and utility options.

Thresholds and grades are typed as lines ``value = points`` / ``minimum score = grade``;
each line that cannot be read is named in the error, and nothing typed is lost.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kreis.analytics.scoring.engine import OPTION_KEY, Field
from kreis.analytics.scoring.models import CriterionKind, ScoringTarget
from kreis.core.forms import BootstrapMixin


def parse_number(text: str) -> float | None:
    """``1250``, ``1250.5`` or ``1250,5`` (no thousands separators) → float; else None."""
    text = text.strip().replace(" ", "").replace("_", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) else None


def format_number(value) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def parse_lines(text: str, *, numeric_left: bool) -> list[tuple[object, float | None, str]]:
    """Lines ``left = right`` → [(left, right as number, line)]; ValidationError per bad line."""
    pairs = []
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        left, sep, right = line.rpartition("=")
        left, right = left.strip(), right.strip()
        if not sep or not left or not right:
            errors.append(
                _("Line %(n)d (“%(line)s”): write “value = points”.") % {"n": number, "line": line}
            )
            continue
        key: object = left
        if numeric_left:
            key = parse_number(left)
            if key is None:
                errors.append(
                    _("Line %(n)d: “%(value)s” is not a number.") % {"n": number, "value": left}
                )
                continue
        pairs.append((key, right, number))
    if errors:
        raise forms.ValidationError(errors)
    return pairs


def parse_thresholds(text: str, kind: str):
    """Numeric ``[[min, points], …]`` or choice ``{value: points}`` from lines."""
    pairs = parse_lines(text, numeric_left=kind == CriterionKind.NUMERIC)
    if not pairs:
        raise forms.ValidationError(_("Enter at least one line “value = points”."))
    errors = []
    parsed = []
    for key, right, line in pairs:
        points = parse_number(right)
        if points is None:
            errors.append(
                _("Line %(n)d: the points “%(value)s” are not a number.")
                % {"n": line, "value": right}
            )
        parsed.append((key, points))
    if errors:
        raise forms.ValidationError(errors)
    if kind == CriterionKind.NUMERIC:
        return [[key, points] for key, points in parsed]
    return dict(parsed)


def thresholds_text(kind: str, thresholds) -> str:
    if kind == CriterionKind.NUMERIC:
        return "\n".join(f"{format_number(m)} = {format_number(p)}" for m, p in thresholds or [])
    return "\n".join(f"{k} = {format_number(p)}" for k, p in (thresholds or {}).items())


def grades_text(grades) -> str:
    return "\n".join(f"{format_number(t)} = {label}" for t, label in grades or [])


class ScoringModelForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    max_points = forms.IntegerField(
        label=gettext_lazy("Points per criterion at most"),
        min_value=1,
        max_value=1000,
        initial=10,
    )
    grades = forms.CharField(
        label=gettext_lazy("Grades"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace"}),
        initial="75 = A\n50 = B\n25 = C\n0 = D",
        help_text=gettext_lazy(
            "One line per grade: minimum score (0–100) = grade. One grade must start at 0."
        ),
    )

    def clean_grades(self) -> list:
        pairs = parse_lines(self.cleaned_data["grades"], numeric_left=True)
        if not pairs:
            raise forms.ValidationError(_("Enter at least one line “minimum score = grade”."))
        return [[threshold, label] for threshold, label, _line in pairs]

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


class CriterionForm(BootstrapMixin, forms.Form):
    """One criterion. For records the field comes from the catalogue and decides the kind;
    for a utility-value analysis the criterion names its own key and kind."""

    field = forms.CharField(label=gettext_lazy("Field"), required=False)
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=CriterionKind.choices, required=False
    )
    weight = forms.DecimalField(
        label=gettext_lazy("Weight"), min_value=Decimal("0.01"), max_digits=8, decimal_places=2
    )
    thresholds = forms.CharField(
        label=gettext_lazy("Thresholds"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
    )

    def __init__(self, *args, target: str, fields: list[Field], **kwargs):
        super().__init__(*args, **kwargs)
        self.target = target
        self.catalogue = {f.key: f for f in fields}
        if target == ScoringTarget.OPTION:
            self.fields["field"].label = _("Key")
            self.fields["field"].help_text = _("Empty: made from the label.")
            self.fields["label"].required = True
            self.fields["kind"].initial = CriterionKind.NUMERIC
        else:
            del self.fields["kind"]
            groups: dict[str, list] = {}
            for f in fields:
                groups.setdefault(f.group, []).append((f.key, f.label))
            self.fields["field"] = forms.ChoiceField(
                label=_("Field"), choices=[("", "—"), *groups.items()]
            )
            self.fields["field"].widget.attrs["class"] = "form-select"
            self.fields["label"].help_text = _("Empty: the field's name.")
        self.fields["thresholds"].help_text = _(
            "One line each: “minimum = points” for numbers (e.g. 10000 = 5), "
            "“value = points” for choices (e.g. A = 10)."
        )
        self.fields["weight"].initial = 1

    def kind_of(self) -> str:
        if self.target == ScoringTarget.OPTION:
            return self.cleaned_data.get("kind") or CriterionKind.NUMERIC
        chosen = self.catalogue.get(self.cleaned_data.get("field") or "")
        return chosen.kind if chosen else CriterionKind.NUMERIC

    def clean(self):
        data = super().clean()
        if self.target == ScoringTarget.OPTION:
            key = (data.get("field") or "").strip()
            if key and not OPTION_KEY.match(key):
                self.add_error("field", _("Use lower case letters, digits and underscores."))
        if "thresholds" in data and not data.get("DELETE"):
            try:
                data["thresholds"] = parse_thresholds(data["thresholds"], self.kind_of())
            except forms.ValidationError as exc:
                self.add_error("thresholds", exc)
        return data

    def criterion(self) -> dict:
        data = self.cleaned_data
        return {
            "field": data.get("field", ""),
            "label": data.get("label", ""),
            "kind": self.kind_of(),
            "weight": data["weight"],
            "thresholds": data["thresholds"],
        }


CriterionFormSet = forms.formset_factory(
    CriterionForm,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=50,
    validate_max=True,
    can_delete=True,
)


def formset_criteria(formset) -> list[tuple[int, dict]]:
    """(form index, criterion) of the filled, kept rows."""
    return [
        (index, form.criterion())
        for index, form in enumerate(formset.forms)
        if form.has_changed() and not form.cleaned_data.get("DELETE")
    ]


def criterion_initial(criterion) -> dict:
    return {
        "field": criterion.field,
        "label": criterion.label,
        "kind": criterion.kind,
        "weight": criterion.weight,
        "thresholds": thresholds_text(criterion.kind, criterion.thresholds),
    }


def raw_rows(formset) -> list[dict]:
    """The rows as typed (for re-showing the form with an extra row): nothing is lost."""
    rows = []
    for form in formset.forms:
        if form["DELETE"].value():
            continue
        row = {name: form[name].value() for name in form.fields if name != "DELETE"}
        if any(v not in (None, "") for k, v in row.items() if k != "weight"):
            rows.append(row)
    return rows


class OptionForm(BootstrapMixin, forms.Form):
    """An option of a utility-value analysis: name and one value per criterion."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, criteria=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            name = f"value_{criterion.field}"
            if criterion.kind == CriterionKind.CHOICE:
                self.fields[name] = forms.ChoiceField(
                    label=criterion.label,
                    required=False,
                    choices=[("", "—"), *((k, k) for k in criterion.thresholds)],
                    widget=forms.Select(attrs={"class": "form-select"}),
                )
            else:
                self.fields[name] = forms.CharField(
                    label=criterion.label,
                    required=False,
                    widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "decimal"}),
                )

    def clean(self):
        data = super().clean()
        for criterion in self.criteria:
            name = f"value_{criterion.field}"
            raw = (data.get(name) or "").strip()
            if criterion.kind == CriterionKind.NUMERIC and raw:
                number = parse_number(raw)
                if number is None:
                    self.add_error(name, _("Enter a number."))
                else:
                    data[name] = int(number) if number.is_integer() else number
        return data

    def service_data(self) -> dict:
        data = self.cleaned_data
        values = {
            c.field: data.get(f"value_{c.field}")
            for c in self.criteria
            if data.get(f"value_{c.field}") not in (None, "")
        }
        return {"name": data["name"], "description": data["description"], "values": values}

    def value_fields(self):
        return [self[f"value_{c.field}"] for c in self.criteria]
