"""Forms of the case page: a task, forwarding to a supplier and its answer, a cost."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from kreis.activities.forms import DateTimeInput
from kreis.core.forms import BootstrapMixin
from kreis.core.models import User
from kreis.parties.models import Party
from kreis.service.models import CostKind


class CaseTaskForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("Task"), max_length=180)
    due_at = forms.DateTimeField(label=_("Due"), widget=DateTimeInput())
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = users
        self.fields["assignee"].empty_label = _("Me")


class SupplierRequestForm(BootstrapMixin, forms.Form):
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Party.objects.none())
    message = forms.CharField(
        label=_("Message to the supplier"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def __init__(self, *args, suppliers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers


class SupplierAnswerForm(BootstrapMixin, forms.Form):
    answer = forms.CharField(
        label=_("Supplier's answer"), max_length=20000, widget=forms.Textarea(attrs={"rows": 3})
    )


class CaseCostForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CostKind.choices)
    date = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    amount = forms.DecimalField(
        label=_("Amount (EUR)"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("For goodwill and replacement."),
    )
    hours = forms.DecimalField(
        label=_("Hours"),
        max_digits=7,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("For handling time."),
    )
    hourly_rate = forms.DecimalField(
        label=_("Hourly rate (EUR)"),
        max_digits=8,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Empty: the rate of the complaint settings."),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        if data["kind"] == CostKind.HANDLING:
            data["amount"] = None
        else:
            data["hours"] = data["hourly_rate"] = None
        return data


def case_page_context(*, user, case, can_change: bool) -> dict:
    """What the case page shows of tasks, supplier requests and costs, with the forms of a
    user who may change the case."""
    from django.utils import timezone

    from kreis.core.queries import user_list_for_user
    from kreis.service.processing import queries
    from kreis.service.processing.services import case_cost_total, suppliers

    requests = list(queries.supplier_requests(case=case))
    tasks = list(queries.case_tasks(case=case))
    for task in tasks:  # the subject names the case (for My day); here it goes without saying
        task.title = task.activity.subject.removeprefix(f"{case.number}: ")
    context = {
        "case_tasks": tasks,
        "supplier_requests": requests,
        "open_supplier_requests": [r for r in requests if r.status == "open"],
        "case_costs": list(queries.case_costs(case=case)),
        "case_cost_total": case_cost_total(case),
        "now": timezone.now(),
    }
    if can_change:
        tomorrow = timezone.localtime() + dt.timedelta(days=1)
        context |= {
            "task_form": CaseTaskForm(
                users=user_list_for_user(user=user).prefetch_related(None),
                initial={"due_at": tomorrow.replace(hour=9, minute=0, second=0, microsecond=0)},
                auto_id="task_%s",
            ),
            "answer_form": SupplierAnswerForm(auto_id="answer_%s"),
            "cost_form": CaseCostForm(initial={"date": timezone.localdate()}, auto_id="cost_%s"),
            "has_suppliers": suppliers().exists(),
        }
    return context
