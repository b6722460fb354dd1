"""Forms of the import wizard: the upload, the column mapping, and one row's values to fix.

The mapping and fix forms are built per import: one field per column of the uploaded file,
named by the column's position (``col_3``, ``value_3``) so any header text is safe as data.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.core.forms import BootstrapMixin
from kreis.migration.models import DuplicateMode, ImportEntity, ImportJob, MappingTemplate
from kreis.migration.queries import template_list_for_user
from kreis.migration.targets import Target

ACCEPTED = ".csv,.txt,.tsv,.xlsx,.vcf,.vcard,.json"


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: MappingTemplate) -> str:
        return f"{obj.name} ({obj.get_entity_display()})"


class UploadForm(BootstrapMixin, forms.Form):
    entity = forms.ChoiceField(label=_("What does the file contain?"), choices=ImportEntity.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (any delimiter; UTF-8, Windows-1252 or ISO-8859-1), Excel (XLSX), vCard or JSON."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}),
    )
    template = TemplateChoiceField(
        label=_("Mapping template"),
        queryset=MappingTemplate.objects.none(),
        required=False,
        empty_label=_("No template"),
        help_text=_(
            "A mapping saved from an earlier import of the same kind of file. Without one, "
            "the columns are mapped by their names."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Their own templates and the shared ones (administrators: all).
        self.fields["template"].queryset = template_list_for_user(user=user).order_by(
            "entity", "name", "pk"
        )

    def clean(self):
        data = super().clean()
        template = data.get("template")
        if template is not None and data.get("entity") and template.entity != data["entity"]:
            self.add_error(
                "template",
                _("This template is for %(kind)s.") % {"kind": template.get_entity_display()},
            )
        return data


def target_choices(targets: list[Target]) -> list:
    """The select's options: "do not import", then the fields, then the custom fields."""
    built_in = [(t.key, f"{t.label} *" if t.required else str(t.label)) for t in targets]
    custom = [(key, label) for key, label in built_in if key.startswith("custom.")]
    built_in = [(key, label) for key, label in built_in if not key.startswith("custom.")]
    choices: list = [("", _("Do not import")), (_("Fields"), built_in)]
    if custom:
        choices.append((_("Custom fields"), custom))
    return choices


class MappingForm(BootstrapMixin, forms.Form):
    duplicate_mode = forms.ChoiceField(
        label=_("When a row matches an existing record"),
        choices=DuplicateMode.choices,
        widget=forms.RadioSelect,
    )
    save_template = forms.BooleanField(label=_("Save this mapping as a template"), required=False)
    template_name = forms.CharField(label=_("Template name"), max_length=100, required=False)
    template_shared = forms.BooleanField(
        label=_("Share it with everyone who imports"), required=False
    )

    def __init__(self, data=None, *, job: ImportJob, targets: list[Target]):
        super().__init__(data, initial={"duplicate_mode": job.duplicate_mode})
        self.job = job
        choices = target_choices(targets)
        for index, header in enumerate(job.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)s") % {"number": index + 1},
                choices=choices,
                required=False,
                initial=(job.mapping or {}).get(header, ""),
                widget=forms.Select(attrs={"class": "form-select"}),
            )
        # Radio buttons are laid out by the template, not styled as a text input.
        self.fields["duplicate_mode"].widget.attrs.pop("class", None)

    def clean(self):
        data = super().clean()
        if data.get("save_template") and not data.get("template_name", "").strip():
            self.add_error("template_name", _("Give the template a name."))
        return data

    def column_fields(self):
        """(column number, header, bound select) for each column of the file."""
        return [
            (index, header, self[f"col_{index}"]) for index, header in enumerate(self.job.headers)
        ]

    def mapping(self) -> dict[str, str]:
        """{header: target} of the columns to import."""
        return {
            header: self.cleaned_data[f"col_{index}"]
            for index, header in enumerate(self.job.headers)
            if self.cleaned_data.get(f"col_{index}")
        }


class RowFixForm(forms.Form):
    """The values of one file row, to correct in the wizard."""

    def __init__(self, data=None, *, headers: list[str], values: list[str]):
        super().__init__(data)
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"value_{index}"] = forms.CharField(
                label=header,
                required=False,
                max_length=10_000,
                strip=False,
                initial=values[index] if index < len(values) else "",
            )

    def values(self) -> dict[str, str]:
        return {
            header: self.cleaned_data.get(f"value_{index}", "")
            for index, header in enumerate(self.headers)
        }
