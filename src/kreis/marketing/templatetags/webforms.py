"""Template helpers of the web-to-lead form pages: what the visitor typed and what is wrong,
by field key (keys such as ``custom.budget`` contain a dot, which template lookups cannot
take)."""

from django import template

register = template.Library()


@register.simple_tag
def field_value(values, key):
    value = (values or {}).get(key, "")
    return value if value is not None else ""


@register.simple_tag
def field_errors(errors, key):
    return (errors or {}).get(key, [])


@register.simple_tag
def consent_ticked(values, purpose):
    value = (values or {}).get(f"consent_{purpose}")
    return value not in (None, "", False, "0")
