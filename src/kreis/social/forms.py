"""Forms of social listening: a keyword, a source, and what a mention becomes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product
from kreis.core.forms import BootstrapMixin
from kreis.parties.models import Party, PartyRole
from kreis.service.models import CaseCategory, Severity
from kreis.social.models import Keyword, Source


class KeywordForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = Keyword
        fields = ["term", "kind", "product", "competitor", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.order_by("name")
        self.fields["competitor"].queryset = Party.objects.filter(
            role_assignments__role=PartyRole.COMPETITOR, deleted_at__isnull=True
        ).order_by("name")

    def validate_unique(self) -> None:
        """The service checks the term (case-insensitive) and says so on the field."""


class SourceForm(BootstrapMixin, forms.ModelForm):
    access_token = forms.CharField(
        label=_("access token"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Mastodon search needs one. Kept encrypted; leave empty to keep it."),
    )

    class Meta:
        model = Source
        fields = ["name", "kind", "url", "query", "language", "poll_minutes", "is_active"]

    url = forms.URLField(
        label=_("address"),
        required=False,
        assume_scheme="https",
        max_length=500,
        help_text=Source._meta.get_field("url").help_text,
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.is_admin:
            self.fields["allow_private"] = forms.BooleanField(
                label=_("allow private addresses"),
                required=False,
                initial=self.instance.allow_private,
                help_text=Source._meta.get_field("allow_private").help_text,
            )
            self.fields["allow_private"].widget.attrs["class"] = "form-check-input"


class CaseForm(BootstrapMixin, forms.Form):
    category = forms.ModelChoiceField(label=_("category"), queryset=CaseCategory.objects.none())
    severity = forms.ChoiceField(label=_("severity"), choices=Severity.choices, initial="medium")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = CaseCategory.objects.filter(is_active=True)


class ReplyForm(BootstrapMixin, forms.Form):
    text = forms.CharField(
        label=_("your reply"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The answer you gave on the network, logged on the author's timeline."),
    )
