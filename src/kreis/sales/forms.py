"""Forms for deals (with line items), the board's lost reason, and pipeline configuration."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product, SalesChannel
from kreis.core.customfields import CustomFieldsFormMixin
from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.parties.forms import PartyLookupField, _lookup
from kreis.parties.models import PartyKind
from kreis.sales.models import ForecastCategory, LostReason, Stage, StageKind


class OptionalPartyLookupField(PartyLookupField):
    """A party lookup that may stay empty."""

    def clean(self, value):
        if not (value or "").strip():
            return None
        return super().clean(value)


def party_label(party) -> str:
    """How a chosen party shows in its lookup field (and is resolved again on save)."""
    return f"{party.name} (#{party.pk})" if party is not None else ""


class StageChoiceField(forms.ModelChoiceField):
    """One select for pipeline and stage: the stages grouped by their pipeline."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Stage.objects.none(), **kwargs)

    def set_pipelines(self, pipelines) -> None:
        stages = [s for p in pipelines for s in p.stages.all()]
        self.queryset = Stage.objects.filter(pk__in=[s.pk for s in stages])
        self.choices = [
            (p.name, [(s.pk, f"{s.name} ({s.probability} %)") for s in p.stages.all()])
            for p in pipelines
        ]


class DealForm(BootstrapMixin, CustomFieldsFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    stage = StageChoiceField(label=_("Pipeline and stage"))
    organization = OptionalPartyLookupField(
        label=_("Organisation"), kind=PartyKind.ORGANIZATION, required=False
    )
    contact = OptionalPartyLookupField(
        label=_("Contact person"), kind=PartyKind.PERSON, required=False
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Leave empty to use the total of the line items."),
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    expected_close = forms.DateField(
        label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    lost_reason = forms.ModelChoiceField(
        label=_("Lost reason"),
        queryset=LostReason.objects.filter(is_active=True),
        required=False,
        help_text=_("Needed when the stage is a lost stage."),
    )
    lost_note = forms.CharField(label=_("Lost note"), max_length=300, required=False)
    source = forms.CharField(label=_("Source"), max_length=100, required=False)
    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("", "—"), *SalesChannel.choices],
        required=False,
    )
    forecast_category = forms.ChoiceField(
        label=_("Forecast category"),
        choices=[("", _("From the stage")), *ForecastCategory.choices],
        required=False,
        help_text=_("Won deals are always closed."),
    )
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separated by commas."), max_length=500
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True), required=False
    )
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.all(), required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, pipelines, parties, custom=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].set_pipelines(pipelines)
        for name, kind in (("organization", PartyKind.ORGANIZATION), ("contact", PartyKind.PERSON)):
            self.fields[name].queryset = parties.filter(kind=kind)
            _lookup(self.fields[name], f"{name}-options", kind)
        self.fields["currency"].widget.attrs["class"] += " text-uppercase"
        self.add_custom_fields("deal", initial=custom)

    def service_data(self) -> dict:
        """The cleaned data in the shape ``deal_create``/``deal_update`` take."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.custom_field_names()}
        stage = data.pop("stage")
        data["pipeline"], data["stage"] = stage.pipeline, stage
        data["tags"] = [t.strip() for t in (data.pop("tags") or "").split(",") if t.strip()]
        data["custom"] = self.custom_values()
        if not data.get("forecast_category"):
            data.pop("forecast_category", None)  # the stage's default, or unchanged
        return data


class DealLineForm(BootstrapMixin, forms.Form):
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(is_active=True), required=False
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    quantity = forms.DecimalField(
        label=_("Quantity"), max_digits=12, decimal_places=3, min_value=0, initial=1
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Empty: the product's list price."),
    )
    discount = forms.DecimalField(
        label=_("Discount"), max_digits=12, decimal_places=2, min_value=0, required=False
    )

    def line(self) -> dict:
        data = self.cleaned_data
        return {
            "product_id": data["product"].pk if data.get("product") else None,
            "description": data.get("description", ""),
            "quantity": data["quantity"],
            "unit_price": data.get("unit_price"),
            "discount": data.get("discount"),
        }


DealLineFormSet = forms.formset_factory(DealLineForm, extra=2, can_delete=True, max_num=100)


def formset_lines(formset) -> list[dict]:
    """The lines the form keeps: every existing line not marked for deletion (changed or not)
    and every extra row the user filled in. ``has_changed`` only tells a filled extra row
    from an empty one: an existing line left as it was is still a line of the deal."""
    existing = formset.initial_form_count()
    return [
        form.line()
        for index, form in enumerate(formset.forms)
        if (index < existing or form.has_changed())
        and form.is_valid()
        and not form.cleaned_data.get("DELETE")
    ]


class LostForm(BootstrapMixin, forms.Form):
    lost_reason = forms.ModelChoiceField(
        label=_("Why was the deal lost?"), queryset=LostReason.objects.filter(is_active=True)
    )
    lost_note = forms.CharField(
        label=_("Note"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class PipelineForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=999, initial=0)
    is_default = forms.BooleanField(label=_("Default for new deals"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class StageForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    probability = forms.IntegerField(
        label=_("Probability (%)"), min_value=0, max_value=100, initial=10
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices, initial=StageKind.OPEN)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=999, required=False)


class LostReasonForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
