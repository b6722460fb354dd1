from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.comms.models import LANGUAGES, EmailTemplate, MailAccount, RuleAction
from kreis.core.forms import BootstrapMixin

PASSWORD_KEPT = _("Stored; leave empty to keep.")


class AccountForm(BootstrapMixin, forms.ModelForm):
    """The account's settings; passwords are write-only (never rendered back)."""

    imap_password = forms.CharField(
        label=_("IMAP password"), required=False, widget=forms.PasswordInput(render_value=False)
    )
    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Empty: the IMAP password."),
    )
    shared_team = forms.ChoiceField(label=_("Shared mailbox of team"), required=False)

    class Meta:
        model = MailAccount
        fields = [
            "name",
            "email_address",
            "display_name",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "imap_password",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "smtp_password",
            "folders",
            "sent_folder",
            "share_mode",
            "is_active",
        ]

    def __init__(self, *args, teams=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk and instance.has_imap_password:
            self.fields["imap_password"].help_text = PASSWORD_KEPT
        if instance.pk and instance.has_smtp_password:
            self.fields["smtp_password"].help_text = PASSWORD_KEPT
        if instance.pk or not teams:
            del self.fields["shared_team"]
        else:
            self.fields["shared_team"].choices = [("", _("— personal mailbox —"))] + [
                (str(team.pk), team.name) for team in teams
            ]
            self.order_fields(["shared_team"])
        for name in ("imap_password", "smtp_password"):
            self.fields[name].widget.attrs["autocomplete"] = "new-password"

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("shared_team", None)
        return data


class RuleForm(BootstrapMixin, forms.Form):
    pattern = forms.CharField(
        label=_("Address or domain"), max_length=254, help_text=_("e.g. @family.example")
    )
    action = forms.ChoiceField(label=_("Action"), choices=RuleAction.choices)


class ComposeForm(BootstrapMixin, forms.Form):
    account = forms.ChoiceField(label=_("From"))
    to = forms.CharField(label=_("To"), max_length=2000, help_text=_("Separate with commas."))
    cc = forms.CharField(label=_("Cc"), max_length=2000, required=False)
    template = forms.ChoiceField(label=_("Template"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 12}))

    def __init__(self, *args, accounts=(), templates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [(str(a.pk), str(a)) for a in accounts]
        names = sorted({t.name for t in templates})
        if names:
            self.fields["template"].choices = [("", "—")] + [(n, n) for n in names]
        else:
            del self.fields["template"]


class TemplateForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = ["name", "language", "subject", "body", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}
        help_texts = {
            "body": _(
                "Merge fields: {{ party.name }}, {{ party.first_name }}, {{ deal.name }}, "
                "{{ owner.name }}, {{ party.custom.<key> }} …"
            )
        }


class PreviewForm(BootstrapMixin, forms.Form):
    party = forms.IntegerField(label=_("Party (ID)"), min_value=1)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("the party's"))] + LANGUAGES, required=False
    )
