"""A label and its value, a text and its note, a list of names, punctuated for the reader's
language: "Reason: worn tool", "Rework rate (%)" and "WC01, WC02" in English, "原因：刀具磨损",
"返工率（%）" and "WC01、WC02" in Chinese (full-width colon with no space after it, full-width
parentheses with no space before them, the enumeration comma 、). Code that joins translated
words with ": ", "( )" or ", " itself shows Chinese readers ASCII punctuation; it calls these
(and a template uses the same messages with {% blocktranslate %}, {% translate ", " context
"list separator" %} or the `join_list` filter of {% load labels %})."""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def labelled(label, value) -> str:
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def noted(text, note) -> str:
    return _("%(text)s (%(note)s)") % {"text": text, "note": note}


def list_separator() -> str:
    return pgettext("list separator", ", ")


def join_clauses(items) -> str:
    """Reasons or statements, one after another: "no routing; WC9 inactive" /
    "无工艺路线；WC9 已停用" (the full-width semicolon)."""
    return pgettext("clause separator", "; ").join(str(item) for item in items)


def join_list(items) -> str:
    """Names a person reads, one after another: "A, B, C" / "A、B、C". Not for SQL, htmx
    trigger specs or a value a form parses back."""
    return list_separator().join(str(item) for item in items)
