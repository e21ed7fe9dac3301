"""A label and its value, a text and its note, punctuated for the reader's language: "Reason:
worn tool" and "Rework rate (%)" in English, "原因：刀具磨损" and "返工率（%）" in Chinese
(full-width colon with no space after it, full-width parentheses). Code that joins translated
words with ": " or "( )" itself shows Chinese readers ASCII punctuation; it calls these (and a
template uses the same messages with {% blocktranslate %})."""

from django.utils.translation import gettext as _


def labelled(label, value) -> str:
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


def noted(text, note) -> str:
    return _("%(text)s (%(note)s)") % {"text": text, "note": note}
