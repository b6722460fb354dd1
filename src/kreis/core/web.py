"""Small helpers shared by the views of every app."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest


def apply_errors(form, exc: ValidationError) -> None:
    """Put a service's validation errors onto the form fields they belong to."""
    by_field = exc.error_dict if hasattr(exc, "error_dict") else {"__all__": exc.error_list}
    for field, errors in by_field.items():
        target = field if field in form.fields else None
        for error in errors:
            form.add_error(target, error)


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def query_without_page(request: HttpRequest) -> str:
    """The list's current filters as a query string, for the pagination links."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
