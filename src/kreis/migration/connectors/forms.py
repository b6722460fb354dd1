"""The connector form of the administration pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.core.models import Role, User
from kreis.migration.connectors.services import template_choices
from kreis.migration.models import Connector, ConnectorKind, DuplicateMode, ImportEntity


class ConnectorForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Source"), choices=ConnectorKind.choices)
    location = forms.CharField(
        label=_("Folder or URL"),
        max_length=500,
        help_text=_(
            "A folder on the server (each new file is imported once) or an http(s) URL "
            "(imported when its content changed)."
        ),
    )
    allow_private = forms.BooleanField(
        label=_("Allow a URL on this machine or the private network"),
        required=False,
        help_text=_("Only for a server you trust, e.g. the ERP in the office network."),
    )
    move_done = forms.BooleanField(
        label=_("Move imported files into the subfolder “done”"), required=False
    )
    entity = forms.ChoiceField(
        label=_("Record type"), choices=ImportEntity.choices, initial=ImportEntity.TRANSACTION
    )
    template = forms.ModelChoiceField(
        label=_("Mapping template"),
        queryset=template_choices(),
        required=False,
        empty_label=_("Suggested from the column names"),
        help_text=_("Shared templates and those of administrators."),
    )
    duplicate_mode = forms.ChoiceField(
        label=_("Rows matching existing records"),
        choices=DuplicateMode.choices,
        initial=DuplicateMode.UPDATE,
    )
    schedule_hour = forms.TypedChoiceField(
        label=_("Daily at"),
        coerce=int,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        initial=2,
    )
    run_as = forms.ModelChoiceField(label=_("Imports as"), queryset=User.objects.none())
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, connector: Connector | None = None, **kwargs):
        if connector is not None:
            kwargs.setdefault(
                "initial",
                {name: getattr(connector, name) for name in self.base_fields if name != "run_as"}
                | {"run_as": connector.run_as_id, "template": connector.template_id},
            )
        super().__init__(*args, **kwargs)
        self.fields["run_as"].queryset = (
            User.objects.filter(is_active=True)
            .exclude(role=Role.READ_ONLY)
            .order_by("first_name", "last_name", "username")
        )
