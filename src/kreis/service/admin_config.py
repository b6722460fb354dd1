"""The Django admin of the complaint e-mail templates: the key chosen from the known e-mails,
the variables and the wording shipped with Kreis shown beside the form, and a preview of the
saved template against the latest case (or an invented one when there is none yet).
Imported by ``kreis.service.admin``."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from kreis.service import mail, mailtemplates
from kreis.service.models import Case, MailTemplate


class MailTemplateForm(forms.ModelForm):
    key = forms.ChoiceField(label=_("e-mail"), choices=mailtemplates.mail_key_choices)

    class Meta:
        model = MailTemplate
        fields = ["key", "language", "subject", "body", "is_active"]
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vLargeTextField"}),
            "body": forms.Textarea(attrs={"rows": 16, "cols": 90}),
        }


def _pre(text: str):
    # A read-only text area: wraps long lines and is easy to copy from (the admin's CSP
    # allows no inline styles).
    rows = min(max(text.count("\n") + 2, 3), 24)
    return format_html(
        '<textarea readonly rows="{}" cols="90" class="vLargeTextField">{}</textarea>', rows, text
    )


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin):
    form = MailTemplateForm
    list_display = ["key", "mail_label", "language", "subject", "is_active", "updated_at"]
    list_display_links = ["key", "mail_label"]
    list_filter = ["key", "language", "is_active"]
    search_fields = ["subject", "body"]
    readonly_fields = ["variables", "shipped_default", "preview"]
    fieldsets = [
        (None, {"fields": ["key", "language", "is_active", "subject", "body"]}),
        (
            _("Help"),
            {
                "fields": ["variables", "shipped_default", "preview"],
                "description": _(
                    "Subject and text are Django templates, as plain text: {{ case.number }} "
                    "inserts a variable, {% translate %}, {% if %}, {% for %} and the filters "
                    "(e.g. {{ case.resolve_due_at|date:'SHORT_DATETIME_FORMAT' }}) may be "
                    "used; {% include %}, {% extends %}, {% debug %}, {% url %} and "
                    "{% load %} of anything but i18n and l10n may not. Without an active "
                    "template the wording shipped with Kreis is sent."
                ),
            },
        ),
    ]

    @admin.display(description=_("e-mail"))
    def mail_label(self, obj: MailTemplate) -> str:
        mail = mailtemplates.MAIL_KEYS.get(obj.key)
        return str(mail.label) if mail else obj.key

    @admin.display(description=_("variables"))
    def variables(self, obj: MailTemplate | None):
        keys = [obj.key] if obj and obj.key in mailtemplates.MAIL_KEYS else mailtemplates.MAIL_KEYS
        blocks = []
        for key in keys:
            rows = format_html_join(
                "",
                "<li><code>{{{{ {} }}}}</code> — {}</li>",
                mailtemplates.variables_of(key).items(),
            )
            blocks.append(
                format_html(
                    "<p><strong>{}</strong> ({})</p><ul>{}</ul>",
                    mailtemplates.MAIL_KEYS[key].label,
                    key,
                    rows,
                )
            )
        return format_html_join("", "{}", ((block,) for block in blocks))

    @admin.display(description=_("shipped wording"))
    def shipped_default(self, obj: MailTemplate | None):
        if not obj or obj.key not in mailtemplates.MAIL_KEYS:
            return _("Choose the e-mail and save to see the wording shipped with Kreis.")
        subject = mailtemplates.shipped_source(obj.key, "subject")
        body = mailtemplates.shipped_source(obj.key, "body")
        return _pre(f"{subject.strip()}\n\n{body}")

    @admin.display(description=_("preview"))
    def preview(self, obj: MailTemplate | None):
        if not obj or not obj.pk:
            return _("Save to see a preview.")
        latest = Case.objects.select_related("party", "contact", "owner", "category")
        case = latest.order_by("-created_at", "-pk").first()
        try:
            subject, body = mail.preview(
                key=obj.key, language=obj.language, subject=obj.subject, body=obj.body, case=case
            )
        except ValidationError as exc:
            return _pre("\n".join(exc.messages))
        source = case.number if case else _("an invented case")
        return format_html(
            "<p>{} {}</p>{}", _("Rendered against"), source, _pre(f"{subject}\n\n{body}")
        )
