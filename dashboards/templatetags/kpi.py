"""`figure`: a KPI figure in a template exactly as the tables show it (dashboards.charts)."""

from django import template

from dashboards.charts import figure_text

register = template.Library()


@register.filter
def figure(value, unit: str = "") -> str:
    """{{ fig.value|figure:kdef.unit }}: "252.5 h" on the headline, the overview and the
    report alike, and "252.5" in the table beside it."""
    return figure_text(value, unit or "")
