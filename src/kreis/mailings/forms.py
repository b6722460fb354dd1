"""Forms of mailings: the mailing, the test on a sample, the suppression list."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.comms.queries import templates_active
from kreis.core.forms import BootstrapMixin
from kreis.mailings.models import Mailing
from kreis.marketing.models import Campaign, Segment


class MailingForm(BootstrapMixin, forms.ModelForm):
    template_name = forms.ChoiceField(label=_("e-mail template"), required=False)

    class Meta:
        model = Mailing
        fields = [
            "name",
            "segment",
            "campaign",
            "purpose",
            "template_name",
            "subject",
            "body",
            "rate",
        ]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")
        self.fields["campaign"].queryset = Campaign.objects.order_by("name")
        names = sorted(set(templates_active().values_list("name", flat=True)))
        self.fields["template_name"].choices = [("", _("— own subject and text —"))] + [
            (name, name) for name in names
        ]
        self.fields["template_name"].help_text = Mailing._meta.get_field("template_name").help_text
        self.fields["body"].help_text = _(
            "Merge fields as in e-mail templates, e.g. {{ party.name }}. The unsubscribe link "
            "and the imprint are added."
        )
        if self.instance.pk and self.instance.state != "draft":
            for name in self.fields:
                if name not in ("name", "rate"):
                    self.fields[name].disabled = True


class SampleForm(BootstrapMixin, forms.Form):
    to = forms.CharField(
        label=_("send to"),
        max_length=1000,
        help_text=_("Your own addresses, separated by commas (at most 10)."),
    )
    count = forms.IntegerField(
        label=_("as for how many random recipients"), min_value=1, max_value=10, initial=1
    )


class SuppressionForm(BootstrapMixin, forms.Form):
    value = forms.CharField(label=_("address or domain"), max_length=254)
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class SuppressionImportForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_(
            "CSV or text: one address or domain a line, optionally a reason after a "
            "comma. At most 2 MB."
        ),
    )
