"""Forms of content offers and follow-up rules (marketing's pages)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from kreis.core.forms import BootstrapMixin
from kreis.marketing.models import ContentOffer, FollowUpRule
from kreis.marketing.offers.services import MAX_UPLOAD


class OfferForm(BootstrapMixin, forms.ModelForm):
    file = forms.FileField(
        label=gettext_lazy("File"),
        required=False,
        help_text=gettext_lazy(
            "PDF, office document, image, ZIP archive or text file; at most %(mb)d MB."
        )
        % {"mb": MAX_UPLOAD // (1024 * 1024)},
    )

    class Meta:
        model = ContentOffer
        fields = [
            "name",
            "description",
            "language",
            "topic",
            "position",
            "form",
            "campaign",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].required = self.instance.pk is None

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class RuleForm(BootstrapMixin, forms.ModelForm):
    """The rule's fields; the service checks them as a whole (``services.rule_save``)."""

    class Meta:
        model = FollowUpRule
        fields = [
            "name",
            "trigger",
            "min_score",
            "path_contains",
            "visit_count",
            "within_days",
            "offer",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = ContentOffer.objects.order_by("position", "name", "pk")
        self.fields["path_contains"].widget.attrs["placeholder"] = "/pricing"

    def service_fields(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}
