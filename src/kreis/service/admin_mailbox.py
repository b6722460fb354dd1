"""The Django admin of the complaint mailboxes: the password is write-only (an empty field
keeps the stored one; it is stored encrypted and never sent back to the browser), and the
actions *Test connection* and *Poll now*. Imported by ``kreis.service.admin``."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kreis.core import crypto
from kreis.core.mailfetch import MailFetchError, is_loopback
from kreis.service.mailbox import mailbox_set_password, mailbox_test_connection, poll_mailbox
from kreis.service.models import ComplaintMailbox


class ComplaintMailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep it."),
    )

    class Meta:
        model = ComplaintMailbox
        fields = [
            "name",
            "is_active",
            "host",
            "port",
            "security",
            "username",
            "password",
            "folder",
            "processed_folder",
            "category",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].label = capfirst(self.fields["password"].label)

    def clean(self):
        data = super().clean()
        if not self.instance.password_encrypted and not data.get("password"):
            self.add_error("password", gettext("Enter the mailbox's password."))
        host = (data.get("host") or "").strip()
        if data.get("security") == "none" and host and not is_loopback(host):
            self.add_error(
                "security",
                gettext(
                    "Without encryption the password would cross the network in clear text: "
                    "only allowed for a server on this machine (localhost)."
                ),
            )
        folder, processed = data.get("folder") or "", data.get("processed_folder") or ""
        if processed.strip() and processed.strip() == folder.strip():
            self.add_error(
                "processed_folder", gettext("Choose another folder than the one polled.")
            )
        return data

    def save(self, commit: bool = True):
        mailbox = super().save(commit=False)
        password = self.cleaned_data.get("password")
        if password:
            mailbox_set_password(mailbox=mailbox, password=password)
        if self.has_changed() and {"host", "username", "folder"} & set(self.changed_data):
            # Another mailbox or folder: its UIDs mean nothing here.
            mailbox.uidvalidity, mailbox.last_uid = None, 0
        if commit:
            mailbox.save()
        return mailbox


@admin.register(ComplaintMailbox)
class ComplaintMailboxAdmin(admin.ModelAdmin):
    form = ComplaintMailboxForm
    list_display = [
        "name",
        "username",
        "host",
        "folder",
        "category",
        "is_active",
        "last_polled_at",
        "status",
    ]
    list_filter = ["is_active", "security"]
    search_fields = ["name", "host", "username"]
    list_select_related = ["category"]
    readonly_fields = ["last_polled_at", "last_error", "folder_uidvalidity", "last_uid_taken"]
    actions = ["test_connection", "poll_now"]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "category"]}),
        (
            _("Server"),
            {"fields": ["host", "port", "security", "username", "password"]},
        ),
        (
            _("Folders"),
            {
                "fields": ["folder", "processed_folder"],
                "description": _(
                    "New mail becomes a case; a mail whose subject names a case number "
                    "(C-2026-000123) is added to that case. Auto-replies and bounces are "
                    "skipped. The mailbox is polled every five minutes."
                ),
            },
        ),
        (
            _("State"),
            {"fields": ["last_polled_at", "last_error", "folder_uidvalidity", "last_uid_taken"]},
        ),
    ]

    @admin.display(description=_("UIDVALIDITY of the folder"))
    def folder_uidvalidity(self, obj: ComplaintMailbox):
        return obj.uidvalidity if obj.uidvalidity is not None else "—"

    @admin.display(description=_("last UID taken"))
    def last_uid_taken(self, obj: ComplaintMailbox):
        return obj.last_uid

    @admin.display(description=_("status"))
    def status(self, obj: ComplaintMailbox) -> str:
        if obj.last_error:
            return gettext("Error: %s") % obj.last_error.splitlines()[0][:120]
        return gettext("OK") if obj.last_polled_at else gettext("not polled yet")

    @admin.action(description=_("Test the connection"), permissions=["view"])
    def test_connection(self, request, queryset) -> None:
        for mailbox in queryset:
            try:
                folder = mailbox_test_connection(mailbox=mailbox)
            except (MailFetchError, crypto.SecretUnreadable, ValidationError) as exc:
                self.message_user(
                    request,
                    gettext("%(mailbox)s: %(error)s") % {"mailbox": mailbox, "error": exc},
                    messages.ERROR,
                )
                continue
            self.message_user(
                request,
                gettext("%(mailbox)s: connected; the folder “%(folder)s” holds %(count)d messages.")
                % {"mailbox": mailbox, "folder": folder.name, "count": folder.exists},
                messages.SUCCESS,
            )

    @admin.action(description=_("Poll now"), permissions=["change"])
    def poll_now(self, request, queryset) -> None:
        for mailbox in queryset:
            result = poll_mailbox(mailbox)
            level = messages.ERROR if result.errors else messages.SUCCESS
            text = f"{mailbox}: {result.summary()}"
            if result.problems:
                text += " — " + "; ".join(result.problems[:3])
            self.message_user(request, text, level)
