"""Forms of the consent pages: staff recording a consent, a new version of a consent text."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.marketing.models import LANGUAGES, ConsentBasis, ConsentChannel, ConsentPurpose

# What staff may record: documented consent, the existing-customer exception, or a double
# opt-in started for the person (the confirmation mail goes out).
STAFF_BASIS_CHOICES = [
    (ConsentBasis.DOCUMENTED, ConsentBasis.DOCUMENTED.label),
    (ConsentBasis.EXISTING_CUSTOMER, ConsentBasis.EXISTING_CUSTOMER.label),
    (ConsentBasis.DOUBLE_OPT_IN, _("Double opt-in (send the confirmation e-mail)")),
]


class RecordConsentForm(BootstrapMixin, forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=ConsentChannel.choices, initial=ConsentChannel.EMAIL
    )
    basis = forms.ChoiceField(label=_("Legal basis"), choices=STAFF_BASIS_CHOICES)
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Empty: the record's primary address."),
    )
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    note = forms.CharField(
        label=_("Proof"),
        max_length=300,
        required=False,
        help_text=_("Where the consent is documented, e.g. “signed form at the fair, 12 May”."),
    )

    def clean(self):
        data = super().clean()
        if data.get("basis") == ConsentBasis.DOCUMENTED and not (data.get("note") or "").strip():
            self.add_error("note", _("Say where the consent is documented."))
        return data


class ConsentTextForm(BootstrapMixin, forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGES)
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=4000,
        help_text=_(
            "Saved as a new version; consents already given keep the version they agreed to."
        ),
    )
