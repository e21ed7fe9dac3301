"""A refusal (a ValidationError from a form or a service) as the station says it and as the
lead reads it later: the text in the operator's language, and its key (mes.system_text) to
show it again in the reader's language."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from mes.system_text import SystemText, message_key, render

# Field names the services use in their ValidationErrors, as the operator sees them.
FIELD_LABELS = {
    "good": gettext_lazy("Good"), "scrap": gettext_lazy("Scrap"),
    "scrap_reason": gettext_lazy("Scrap reason"), "quantity": gettext_lazy("Quantity"),
    "item_code": gettext_lazy("Component"), "lot_code": gettext_lazy("Lot"),
    "reason": gettext_lazy("Reason"), "state": gettext_lazy("State"),
    "equipment": gettext_lazy("Equipment"), "work_start": gettext_lazy("Work start"),
    "work_end": gettext_lazy("Work end"), "at": gettext_lazy("Time"),
    "short_reason": gettext_lazy("Reason for completing short"),
}

# "<field>: <message>", the way the station names the field: words of its own only in its
# punctuation (zh: "报废原因：请选择…", a full-width colon).
_LABELLED = gettext_noop("%(label)s: %(message)s")


def _part_key(label, error: ValidationError):
    """The key of one error, behind its field's label when it has one."""
    key = message_key(error.message, error.params)
    if not label or key is None:
        return key
    # A label from FIELD_LABELS is words (keyed); a field name without one is a value.
    label_key = message_key(label) if not isinstance(label, str) else label
    return None if label_key is None else SystemText(
        _LABELLED, {"label": label_key, "message": key}).key()


def refusal_reason(exc: ValidationError, labels=None, *,
                   named: bool = True) -> tuple[str, list | dict | None]:
    """The refusal as one text naming the field(s) when it has any (`named`; the API names
    them apart), in the current language, and its key (None when a part of it is text
    already translated). `labels`: what to call the fields (default: the exception's own
    `labels`, else FIELD_LABELS)."""
    labels = labels if labels is not None else getattr(exc, "labels", FIELD_LABELS)
    pairs = (exc.error_dict.items() if hasattr(exc, "error_dict")
             else [(NON_FIELD_ERRORS, exc.error_list)])
    parts, keys = [], []
    for name, errors in pairs:
        label = labels.get(name, "" if name == NON_FIELD_ERRORS else name) if named else ""
        for error in errors:
            message = next(iter(error))  # as ValidationError renders it
            parts.append(gettext(_LABELLED) % {"label": label, "message": message} if label
                         else message)
            keys.append(_part_key(label, error))
    text = " ".join(parts)
    if not keys or None in keys:
        return text, None
    key = keys[0] if len(keys) == 1 else keys
    # A key that would not read back as the operator saw it is not kept (the text is).
    return text, key if render(key) == text else None
