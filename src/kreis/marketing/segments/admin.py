"""Segments in the Django admin: definition, static members and the counts over time."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from kreis.marketing.models import Segment, SegmentMember, SegmentSnapshot
from kreis.marketing.segments.queries import clean_conditions


class SegmentAdminForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = [
            "name",
            "description",
            "kind",
            "conditions",
            "match",
            "source_view",
            "owner",
            "team",
        ]

    def clean_conditions(self):
        try:
            return clean_conditions(self.cleaned_data.get("conditions"))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["conditions"]) from None


class SegmentMemberInline(admin.TabularInline):
    model = SegmentMember
    extra = 0
    raw_id_fields = ["party", "added_by"]
    readonly_fields = ["added_at"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentAdminForm
    list_display = ["name", "kind", "match", "member_count", "counted_at", "owner", "team"]
    list_filter = ["kind", "match", "team"]
    search_fields = ["name", "description"]
    raw_id_fields = ["owner", "team", "source_view"]
    readonly_fields = ["member_count", "counted_at", "created_at", "updated_at"]
    inlines = [SegmentMemberInline]


@admin.register(SegmentSnapshot)
class SegmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ["segment", "day", "count"]
    list_filter = ["day"]
    raw_id_fields = ["segment"]
    date_hierarchy = "day"
