"""Forms of the handoff pages: an assignment rule, the SLA settings, the report's period."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Competency, CompetencyKind, Level, Team, User
from kreis.marketing.handoff.services import OWNER_ROLES
from kreis.marketing.models import LeadAssignmentRule, MarketingSettings


class RuleForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = LeadAssignmentRule
        fields = [
            "name",
            "position",
            "territory",
            "product_interest",
            "language",
            "team",
            "users",
            "required_competencies",
            "competency_level",
            "workload_cap",
            "is_active",
        ]
        widgets = {
            "users": forms.CheckboxSelectMultiple,
            "required_competencies": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "territory": _("Empty: any territory. Compared ignoring upper and lower case."),
            "position": _("Rules are tried from the lowest number up; the first that fits wins."),
            "users": _("They take turns (round-robin). None picked: the team's members do."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_interest"].queryset = Product.objects.filter(is_active=True).order_by(
            "name"
        )
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["users"].queryset = User.objects.filter(
            is_active=True, role__in=OWNER_ROLES
        ).order_by("username")
        self.fields["users"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["competency_level"].required = False
        self.fields["required_competencies"].queryset = Competency.objects.filter(
            is_active=True
        ).order_by("kind", "name")
        kinds = dict(CompetencyKind.choices)
        self.fields["required_competencies"].label_from_instance = lambda c: (
            f"{c.name} ({kinds.get(c.kind, c.kind)})"
        )
        self.fields["product_interest"].empty_label = _("Any product")
        self.fields["language"].choices = [
            ("", _("Any language")),
            *LeadAssignmentRule._meta.get_field("language").choices,
        ]
        self.fields["name"].widget.attrs["autofocus"] = True

    def clean_competency_level(self):
        # Sent only when the form shows it; without required competencies it does not matter.
        return self.cleaned_data.get("competency_level") or Level.GOOD

    def clean(self):
        data = super().clean()
        if not data.get("team") and not data.get("users"):
            raise forms.ValidationError(_("Pick users or a team: somebody must take the leads."))
        return data


class SettingsForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = MarketingSettings
        fields = ["first_contact_hours", "reminder_percent", "recycle_hours"]


class PeriodForm(BootstrapMixin, forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, **kwargs):
        today = timezone.localdate()
        initial = {"start": today - timedelta(days=29), "end": today}
        if data is not None and not (data.get("start") or data.get("end")):
            data = None  # no period asked for: the last 30 days
        super().__init__(data, initial=initial, **kwargs)

    def period(self):
        if self.is_bound and self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return self.initial["start"], self.initial["end"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The period must end on or after its first day."))
        if start and end and (end - start).days > 3660:
            raise forms.ValidationError(_("Choose a period of ten years at most."))
        return data
