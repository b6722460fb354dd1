"""The form of a relationship type."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.core.models import Team, User
from kreis.marketing.models import Segment
from kreis.marketing.relationships.models import RelationshipType
from kreis.marketing.relationships.services import OWNER_ROLES


class RelationshipTypeForm(BootstrapMixin, forms.ModelForm):
    class Meta:
        model = RelationshipType
        fields = [
            "name_de",
            "name_en",
            "segment",
            "priority",
            "ownership",
            "owner",
            "team",
            "keep_existing_owner",
            "description",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "owner": _("For “a named owner”: who owns every customer of the segment."),
            "team": _(
                "For round-robin: its members take turns. For “the team”: the team owns the "
                "customers. For a named owner: optional, the customers' team."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name", "pk")
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["owner"].queryset = User.objects.filter(
            is_active=True, role__in=OWNER_ROLES
        ).order_by("username")
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["name_de"].widget.attrs["autofocus"] = True
