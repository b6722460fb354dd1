from django import template

register = template.Library()


@register.filter
def case_due(case):
    """The case's next SLA deadline (none once resolved or closed)."""
    return case.due_at()


@register.filter
def case_overdue(case) -> bool:
    return case.is_overdue()
