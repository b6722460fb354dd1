"""Forms for the app's own pages, rendered with Bootstrap classes."""

from __future__ import annotations

from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _

from kreis.core.models import ApiKeyScope, CustomFieldType, Role, Team, User


class FormRenderer(TemplatesSetting):
    field_template_name = "forms/field.html"


class BootstrapMixin:
    """Give each widget the Bootstrap class that suits it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                css = ""
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            if css:
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class UserForm(BootstrapMixin, forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[\w.@+-]+$",
        max_length=150,
        help_text=_("Letters, digits and @/./+/-/_ only."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=120, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.SALES_REP)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Browser setting")), ("de", "Deutsch"), ("en", "English")],
        required=False,
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(label=_("Active (may sign in)"), required=False, initial=True)
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to let the user set one through “Forgot password”."),
    )

    def __init__(self, *args, editing: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if editing is not None:
            self.fields["username"].disabled = True
            del self.fields["password"]
        else:
            del self.fields["is_active"]


class TeamForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MemberForm(BootstrapMixin, forms.Form):
    user = forms.ModelChoiceField(label=_("User"), queryset=User.objects.filter(is_active=True))
    is_manager = forms.BooleanField(label=_("Manager of the team"), required=False)


class ProfileForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "job_title", "phone", "language"]


class ApiKeyForm(BootstrapMixin, forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the key is for, e.g. “ERP import”.")
    )
    scope = forms.ChoiceField(
        label=_("Scope"), choices=ApiKeyScope.choices, initial=ApiKeyScope.READ
    )


class CustomFieldForm(BootstrapMixin, forms.Form):
    entity = forms.ChoiceField(label=_("Record type"))
    label = forms.CharField(label=_("Label"), max_length=100)
    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_("Name in the API and exports: lower case letters, digits, underscores."),
    )
    type = forms.ChoiceField(label=_("Type"), choices=CustomFieldType.choices)
    choices = forms.CharField(
        label=_("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For choice fields: one option per line."),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=200, required=False)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=999, initial=0)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, editing=None, **kwargs):
        from kreis.core.customfields import ENTITIES

        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = list(ENTITIES.items())
        if editing is not None:
            for name in ("entity", "key", "type"):
                self.fields[name].disabled = True

    def clean_key(self) -> str:
        key = self.cleaned_data["key"].lower()
        if "-" in key:
            raise forms.ValidationError(_("Use underscores, not hyphens."))
        return key

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["choices"] = [c.strip() for c in data["choices"].splitlines() if c.strip()]
        return data
