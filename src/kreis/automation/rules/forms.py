"""The rule form: the rule, its trigger settings, and rows of conditions and actions.

Plain form fields in a fixed order, so the whole rule is filled with the keyboard (Tab, arrow
keys in the selects). Empty rows are ignored; "Add rows" gives more. What the rows say is
checked by ``spec.clean_rule`` like every other way in (API, import), and its messages are
put on the row and field they name.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kreis.automation.rules import spec
from kreis.automation.rules.models import RecordType, TriggerKind
from kreis.core.forms import BootstrapMixin

ERROR_PLACE = re.compile(r"^(conditions|actions)\[(\d+)\](?:\.(\w+))?: (.*)$", re.S)
CONFIG_FIELDS = (
    "field",
    "from_value",
    "to_value",
    "stage",
    "phase",
    "threshold",
    "days",
    "form",
    "survey",
)


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _queryset(label: str):
    model = _model(label)
    return model.objects.all() if model is not None else None


def _phases():
    from kreis.parties.models import LifecyclePhase

    return [("", _("any phase")), *LifecyclePhase.choices]


class RuleForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    trigger = forms.ChoiceField(label=_("When"), choices=TriggerKind.choices)
    record_type = forms.ChoiceField(
        label=_("Record type"),
        required=False,
        choices=[("", _("— (given by the trigger)")), *RecordType.choices],
        help_text=_("For “a record is created, changed, deleted” and “a field changes”."),
    )
    field = forms.CharField(
        label=_("Field"),
        required=False,
        max_length=80,
        help_text=_("For “a field changes”: the field's name, e.g. status or custom.region."),
    )
    from_value = forms.CharField(label=_("From value"), required=False, max_length=200)
    to_value = forms.CharField(label=_("To value"), required=False, max_length=200)
    stage = forms.ModelChoiceField(
        label=_("To stage"), queryset=None, required=False, empty_label=_("any stage")
    )
    phase = forms.ChoiceField(label=_("To phase"), required=False, choices=())
    threshold = forms.DecimalField(label=_("Score threshold"), required=False)
    days = forms.IntegerField(label=_("Days"), required=False, min_value=0, max_value=3650)
    form = forms.ModelChoiceField(
        label=_("Web form"), queryset=None, required=False, empty_label=_("any form")
    )
    survey = forms.ModelChoiceField(
        label=_("Survey"), queryset=None, required=False, empty_label=_("any survey")
    )
    match = forms.ChoiceField(
        label=_("Conditions"),
        choices=[("all", _("all must hold")), ("any", _("one is enough"))],
        initial="all",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from kreis.sales.models import Stage

        self.fields["stage"].queryset = Stage.objects.select_related("pipeline").order_by(
            "pipeline__name", "position"
        )
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline} › {s.name}"
        self.fields["phase"].choices = _phases()
        self.fields["form"].queryset = _queryset("marketing.LeadForm")
        self.fields["survey"].queryset = _queryset("feedback.Survey")
        _mark(self, TRIGGER_FIELD_KINDS)
        self.fields["trigger"].widget.attrs["data-kind-select"] = "1"


CONDITION_FIELD_KINDS = {
    "field": "field",
    "op": "field",
    "value": "field abc",
    "segment": "segment",
    "user": "owner",
    "team": "team",
}
ACTION_FIELD_KINDS = {
    "subject": "create_task",
    "days": "create_task",
    "user": "create_task assign_owner notify",
    "message": "notify",
    "field": "set_field",
    "value": "set_field",
    "tag": "add_tag",
    "segment": "add_to_segment",
    "campaign": "add_to_campaign",
    "webhook": "call_webhook",
    "playbook": "start_playbook stop_playbook",
    "purpose": "send_email",
    "subject_de": "send_email",
    "body_de": "send_email",
    "subject_en": "send_email",
    "body_en": "send_email",
}
TRIGGER_FIELD_KINDS = {
    "record_type": "record.created record.updated record.deleted field.changed webhook.received "
    "score.crossed",
    "field": "field.changed",
    "from_value": "field.changed",
    "to_value": "field.changed",
    "stage": "deal.stage_changed",
    "phase": "party.phase_changed",
    "threshold": "score.crossed",
    "days": "date.no_order date.contract_ends",
    "form": "form.submitted",
    "survey": "survey.answered",
}


def _mark(form, kinds: dict[str, str]) -> None:
    """Which kind each field belongs to (the page shows only the chosen kind's fields)."""
    for name, value in kinds.items():
        if name in form.fields:
            form.fields[name].widget.attrs["data-kinds"] = value


class ConditionForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Condition"),
        required=False,
        choices=[("", _("— none —")), *spec.CONDITION_KINDS.items()],
    )
    field = forms.CharField(label=_("Field"), required=False, max_length=80)
    op = forms.ChoiceField(
        label=_("Comparison"), required=False, choices=list(spec.OPERATORS.items())
    )
    value = forms.CharField(
        label=_("Value"),
        required=False,
        max_length=500,
        help_text=_("For the ABC class: A, B and/or C."),
    )
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=None, required=False)
    user = forms.ModelChoiceField(label=_("User"), queryset=None, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=None, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from kreis.core.models import Team, User

        self.fields["segment"].queryset = _queryset("marketing.Segment").order_by("name")
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")
        self.fields["team"].queryset = Team.objects.order_by("name")
        _mark(self, CONDITION_FIELD_KINDS)
        self.fields["kind"].widget.attrs["data-kind-select"] = "1"

    def as_data(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        kind = data.get("kind")
        if not kind:
            return None
        if kind == "field":
            return {"kind": kind, "field": data["field"], "op": data["op"], "value": data["value"]}
        if kind == "segment":
            return {"kind": kind, "segment_id": data["segment"].pk if data["segment"] else None}
        if kind == "abc":
            return {"kind": kind, "value": data["value"]}
        if kind == "owner":
            return {"kind": kind, "user_id": data["user"].pk if data["user"] else None}
        return {"kind": kind, "team_id": data["team"].pk if data["team"] else None}

    @staticmethod
    def initial_for(item: dict) -> dict:
        return {
            "kind": item.get("kind"),
            "field": item.get("field", ""),
            "op": item.get("op", "eq"),
            "value": ", ".join(item["value"])
            if isinstance(item.get("value"), list)
            else item.get("value", ""),
            "segment": item.get("segment_id"),
            "user": item.get("user_id"),
            "team": item.get("team_id"),
        }


class ActionForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("— none —")), *spec.ACTION_KINDS.items()]
    )
    subject = forms.CharField(label=_("Task subject"), required=False, max_length=200)
    days = forms.IntegerField(label=_("Due in days"), required=False, min_value=0, max_value=365)
    user = forms.ModelChoiceField(
        label=_("User"),
        queryset=None,
        required=False,
        empty_label=_("the record's owner"),
        help_text=_("For a task, a notification or a new owner."),
    )
    message = forms.CharField(label=_("Notification"), required=False, max_length=200)
    field = forms.CharField(label=_("Field to set"), required=False, max_length=80)
    value = forms.CharField(label=_("New value"), required=False, max_length=500)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    segment = forms.ModelChoiceField(label=_("Static segment"), queryset=None, required=False)
    campaign = forms.ModelChoiceField(label=_("Campaign"), queryset=None, required=False)
    webhook = forms.ModelChoiceField(label=_("Webhook"), queryset=None, required=False)
    playbook = forms.ModelChoiceField(label=_("Playbook"), queryset=None, required=False)
    purpose = forms.ChoiceField(label=_("Consent purpose"), required=False, choices=())
    subject_de = forms.CharField(label=_("E-mail subject (German)"), required=False, max_length=200)
    body_de = forms.CharField(
        label=_("E-mail text (German)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    subject_en = forms.CharField(
        label=_("E-mail subject (English)"), required=False, max_length=200
    )
    body_en = forms.CharField(
        label=_("E-mail text (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Merge fields: {{ name }}, {{ first_name }}, {{ last_name }}, {{ owner }}."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from kreis.automation.models import WebhookSubscription
        from kreis.core.models import User
        from kreis.marketing.models import ConsentPurpose, SegmentKind

        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")
        self.fields["segment"].queryset = (
            _queryset("marketing.Segment").filter(kind=SegmentKind.STATIC).order_by("name")
        )
        self.fields["campaign"].queryset = _queryset("marketing.Campaign").order_by("name")
        self.fields["webhook"].queryset = WebhookSubscription.objects.order_by("name")
        playbooks = _queryset("playbooks.Playbook")
        if playbooks is None:
            del self.fields["playbook"]
        else:
            self.fields["playbook"].queryset = playbooks
        self.fields["purpose"].choices = ConsentPurpose.choices
        self.fields["purpose"].initial = ConsentPurpose.MARKETING
        _mark(self, ACTION_FIELD_KINDS)
        self.fields["kind"].widget.attrs["data-kind-select"] = "1"

    def as_data(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        kind = data.get("kind")
        if not kind:
            return None

        def pk(name):
            return data[name].pk if data.get(name) else None

        if kind == "create_task":
            return {
                "kind": kind,
                "subject": data["subject"],
                "days": data["days"] or 0,
                "user_id": pk("user"),
            }
        if kind == "send_email":
            keys = ("purpose", "subject_de", "body_de", "subject_en", "body_en")
            return {"kind": kind, **{k: data[k] for k in keys}}
        if kind == "assign_owner":
            return {"kind": kind, "user_id": pk("user")}
        if kind == "set_field":
            return {"kind": kind, "field": data["field"], "value": data["value"]}
        if kind == "add_tag":
            return {"kind": kind, "tag": data["tag"]}
        if kind == "add_to_segment":
            return {"kind": kind, "segment_id": pk("segment")}
        if kind == "add_to_campaign":
            return {"kind": kind, "campaign_id": pk("campaign")}
        if kind == "notify":
            return {"kind": kind, "message": data["message"], "user_id": pk("user")}
        if kind == "call_webhook":
            return {"kind": kind, "webhook_id": pk("webhook")}
        return {"kind": kind, "playbook_id": pk("playbook")}

    @staticmethod
    def initial_for(item: dict) -> dict:
        out = {k: v for k, v in item.items() if not k.endswith("_id")}
        for key in ("user", "segment", "campaign", "webhook", "playbook"):
            if item.get(f"{key}_id"):
                out[key] = item[f"{key}_id"]
        return out


ConditionFormSet = forms.formset_factory(ConditionForm, extra=0, max_num=spec.MAX_CONDITIONS)
ActionFormSet = forms.formset_factory(ActionForm, extra=0, max_num=spec.MAX_ACTIONS)


def build(data=None, rule=None, *, extra_rows: int = 1):
    """The rule form and its two formsets, filled from a rule or the POST."""
    if rule is not None:
        config = rule.trigger_config or {}
        initial = {
            "name": rule.name,
            "description": rule.description,
            "trigger": rule.trigger,
            "record_type": rule.record_type,
            "match": rule.match,
            "field": config.get("field", ""),
            "from_value": config.get("from_value", ""),
            "to_value": config.get("to_value", ""),
            "stage": config.get("stage_id"),
            "phase": config.get("phase", ""),
            "threshold": config.get("threshold"),
            "days": config.get("days"),
            "form": config.get("form_id"),
            "survey": config.get("survey_id"),
        }
        conditions = [ConditionForm.initial_for(c) for c in rule.conditions]
        actions = [ActionForm.initial_for(a) for a in rule.actions]
    else:
        initial = {"match": "all"}
        conditions, actions = [], []
    conditions += [{} for _ in range(extra_rows + (0 if conditions else 1))]
    actions += [{} for _ in range(extra_rows + (0 if actions else 1))]
    form = RuleForm(data, initial=initial)
    condition_set = ConditionFormSet(data, initial=conditions, prefix="conditions")
    action_set = ActionFormSet(data, initial=actions, prefix="actions")
    if data is not None:  # the rows the browser sent, however many
        condition_set.extra = 0
        action_set.extra = 0
    return form, condition_set, action_set


def collect(form, condition_set, action_set) -> tuple[dict[str, Any] | None, dict]:
    """The rule as data for ``spec.clean_rule`` and which form row each item came from."""
    if not (form.is_valid() and condition_set.is_valid() and action_set.is_valid()):
        return None, {}
    data = form.cleaned_data
    config: dict[str, Any] = {}
    for key in ("field", "from_value", "to_value", "phase"):
        if data.get(key):
            config[key] = data[key]
    for key, name in (("stage", "stage_id"), ("form", "form_id"), ("survey", "survey_id")):
        if data.get(key):
            config[name] = data[key].pk
    if data.get("threshold") is not None:
        config["threshold"] = str(data["threshold"])
    if data.get("days") is not None:
        config["days"] = data["days"]
    rows: dict[str, list[int]] = {"conditions": [], "actions": []}
    conditions, actions = [], []
    for index, row in enumerate(condition_set.forms):
        item = row.as_data()
        if item:
            conditions.append(item)
            rows["conditions"].append(index)
    for index, row in enumerate(action_set.forms):
        item = row.as_data()
        if item:
            actions.append(item)
            rows["actions"].append(index)
    rule = {
        "name": data["name"],
        "description": data["description"],
        "trigger": data["trigger"],
        "record_type": data["record_type"],
        "trigger_config": config,
        "match": data["match"],
        "conditions": conditions,
        "actions": actions,
    }
    return rule, rows


FIELD_FOR = {
    "segment_id": "segment",
    "user_id": "user",
    "team_id": "team",
    "campaign_id": "campaign",
    "webhook_id": "webhook",
    "playbook_id": "playbook",
}
CONFIG_FOR = {"stage_id": "stage", "form_id": "form", "survey_id": "survey"}


def apply_errors(exc: ValidationError, form, condition_set, action_set, rows: dict) -> None:
    """Put each message of ``spec.clean_rule`` on the field it names."""
    for message in exc.messages:
        found = ERROR_PLACE.match(message)
        if found:
            group, index, name, text = found.groups()
            formset = condition_set if group == "conditions" else action_set
            position = rows[group][int(index)] if int(index) < len(rows[group]) else None
            if position is not None:
                row = formset.forms[position]
                name = FIELD_FOR.get(name or "", name)
                row.add_error(name if name in row.fields else None, text)
                continue
        head, _sep, text = message.partition(": ")
        if head.startswith("trigger_config"):
            name = head.split(".", 1)[-1]
            name = CONFIG_FOR.get(name, name)
            if name in form.fields:
                form.add_error(name, text)
                continue
        if head in form.fields:
            form.add_error(head, text)
        else:
            form.add_error(None, message)
