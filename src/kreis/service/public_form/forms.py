"""The public complaint form and the administrators' check of the embedding websites."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kreis.commerce.models import Product
from kreis.core.forms import BootstrapMixin
from kreis.parties.normalize import normalize_phone
from kreis.service.models import CaseCategory, ServiceSettings
from kreis.service.public_form.guard import is_origin


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CaseCategory) -> str:
        return obj.name  # German or English, whichever is active while the page renders


class ComplaintForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    phone = forms.CharField(label=_("Phone (optional)"), max_length=40, required=False)
    reference = forms.CharField(
        label=_("Order or customer number (optional)"), max_length=60, required=False
    )
    category = CategoryChoiceField(
        label=_("What is it about?"),
        queryset=CaseCategory.objects.none(),
        required=False,
        empty_label=_("Please choose (optional)"),
    )
    product = forms.CharField(
        label=_("Product (optional)"),
        max_length=200,
        required=False,
        help_text=_("Name or article number, as on the invoice or the product."),
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happened, when, and what you expect from us."),
    )

    AUTOCOMPLETE = {
        "name": "name",
        "email": "email",
        "phone": "tel",
        "reference": "off",
        "product": "off",
        "subject": "off",
        "description": "off",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = CaseCategory.objects.filter(is_active=True).order_by(
            "name_en", "pk"
        )
        for name, value in self.AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["phone"].widget.input_type = "tel"
        self.fields["email"].widget.attrs["inputmode"] = "email"
        for field in self.fields.values():
            if field.required:
                field.widget.attrs["aria-required"] = "true"

    def full_clean(self):
        super().full_clean()
        self.mark_errors()

    def mark_errors(self) -> None:
        """Mark the fields with errors for the screen reader and the eye (known only after
        validation, and again after the service added its own)."""
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                described = [f"id_{name}_error"]
                if self.fields[name].help_text:
                    described.append(f"id_{name}_helptext")
                attrs["aria-describedby"] = " ".join(described)
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(gettext("Please tell us your name."))
        return name

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if phone:
            try:
                normalize_phone(phone)
            except ValidationError as exc:
                raise ValidationError(
                    gettext("This does not look like a phone number, e.g. +49 30 1234567.")
                ) from exc
        return phone

    def focus(self, name: str | None) -> None:
        """Put the cursor into this field when the page opens."""
        if name in self.fields:
            self.fields[name].widget.attrs["autofocus"] = True

    def first_error_field(self) -> str | None:
        return next((name for name in self.fields if name in self.errors), None)

    def matched_product(self) -> Product | None:
        """The active product the visitor named by its exact article number or name."""
        text = self.cleaned_data.get("product", "").strip()
        if not text:
            return None
        return (
            Product.objects.filter(is_active=True)
            .filter(Q(sku__iexact=text) | Q(name__iexact=text))
            .order_by("pk")
            .first()
        )

    def case_description(self) -> str:
        """The complaint's text, with what the visitor gave about themselves in front (labelled
        in the visitor's language, which is the case's): the case may be linked to a known
        customer by the phone number alone, and the details typed must not be lost then."""
        data = self.cleaned_data
        given = [
            (gettext("Name"), data.get("name")),
            (gettext("E-mail"), data.get("email")),
            (gettext("Phone"), data.get("phone")),
            (gettext("Order or customer number"), data.get("reference")),
            (gettext("Product"), data.get("product")),
        ]
        lines = [f"{label}: {value.strip()}" for label, value in given if (value or "").strip()]
        return "\n".join(lines) + "\n\n" + data["description"].strip()


class ServiceSettingsAdminForm(forms.ModelForm):
    """The settings as the Django admin edits them: the embedding websites must be origins."""

    class Meta:
        model = ServiceSettings
        fields = "__all__"  # noqa: DJ007  (every option is the administrator's to set)

    def clean_form_allowed_origins(self) -> str:
        text = self.cleaned_data["form_allowed_origins"]
        lines = [line.strip().rstrip("/") for line in text.splitlines()]
        wrong = [line for line in lines if line and not is_origin(line.lower())]
        if wrong:
            raise ValidationError(
                gettext(
                    "Not a website origin: %(wrong)s. Give scheme and host (and a port if "
                    "needed), without a path, e.g. https://www.example.com."
                )
                % {"wrong": ", ".join(wrong)}
            )
        return "\n".join(line for line in lines if line)
