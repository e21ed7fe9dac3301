"""`join_list`: a list a person reads, joined as mes.labels joins it ("A, B" / "A、B")."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from mes.labels import list_separator

register = template.Library()


@register.filter(needs_autoescape=True)
def join_list(items, autoescape=True):
    """{{ names|join_list }} where a template would write {{ names|join:", " }}."""
    escape = conditional_escape if autoescape else str
    return mark_safe(escape(list_separator()).join(escape(item) for item in items))  # noqa: S308 - every part went through escape()
