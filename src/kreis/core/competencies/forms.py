"""Forms of the skills matrix: a competency of the catalogue, a user's levels."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.competencies.models import Competency, Level
from kreis.core.forms import BootstrapMixin


class CompetencyForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Competency
        fields = ["kind", "name", "key", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


LEVEL_CHOICES = [("", _("—")), *[(str(v), label) for v, label in Level.choices]]


class LevelsForm(BootstrapMixin, forms.Form):
    """One select per competency of the catalogue (empty: not held)."""

    def __init__(self, *args, competencies: list[Competency], levels: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.competencies = competencies
        for competency in competencies:
            self.fields[f"c{competency.pk}"] = forms.TypedChoiceField(
                label=competency.name,
                choices=LEVEL_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                initial=str(levels[competency.pk]) if competency.pk in levels else "",
            )

    def levels(self) -> dict[int, int | None]:
        return {c.pk: self.cleaned_data.get(f"c{c.pk}") for c in self.competencies}

    def groups(self):
        """(kind label, [bound fields]) in catalogue order, for the template."""
        from kreis.core.competencies.models import CompetencyKind

        labels = dict(CompetencyKind.choices)
        out: list[tuple[str, list]] = []
        for competency in self.competencies:
            label = str(labels[competency.kind])
            if not out or out[-1][0] != label:
                out.append((label, []))
            out[-1][1].append(self[f"c{competency.pk}"])
        return out
