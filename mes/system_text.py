"""Words the system writes into records (an audit entry's "why"), shown to each reader in
their own language.

A person's words are stored as typed. Words the system chooses ("BOM explosion", "rework of
NC-12") used to be stored translated into the language of whoever triggered them, so a
Chinese planner's explosion read "BOM 展开" to an English-speaking manager for good. A
`SystemText` keeps its message id (the English source, extracted for translation:
mes/management/commands/makemessages.py knows `system_text`) and its parameters. The record
stores that key beside the text in the writer's language (kept for search, export and the
admin), and pages render the key again in the reader's language with `render`.

Parameters are values, not words: codes, numbers, a person's own text; or system texts of
their own (a refusal's "why"), rendered in the reader's language too. A key may also be a list
of keys: several messages shown one after the other.

`message_key` keys a message as a ValidationError carries it: a system text, or a lazy
translation (Django's own form messages among them) with the error's parameters.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, pgettext


class SystemText:
    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, params: dict[str, str]):
        self.msgid = msgid
        self.params = params

    def key(self) -> dict:
        return {"msgid": self.msgid, "params": self.params} if self.params else {
            "msgid": self.msgid}

    def __str__(self) -> str:
        return render(self.key())

    def __repr__(self) -> str:
        return f"system_text({self.msgid!r}, {self.params!r})"


def system_text(msgid: str, /, **params) -> SystemText:
    """`msgid` (a literal, so it is extracted for translation) with its parameters (a
    parameter that is itself a system text is kept as its key)."""
    return SystemText(msgid, {name: _word(value) for name, value in params.items()})


def _word(value):
    """A parameter of a system text: a system text's or lazy translation's key (words, shown
    in the reader's language), else the value as text."""
    if isinstance(value, SystemText | Promise):
        return message_key(value) or str(value)
    return str(value)


def render(key, fallback: str = "") -> str:
    """A stored key in the current language; `fallback` (the stored text) when the key is
    not one (an entry written before keys were kept) or does not fit its message."""
    if isinstance(key, list) and key:
        parts = [render(part) for part in key]
        return fallback if "" in parts else " ".join(parts)
    if not isinstance(key, dict) or not isinstance(key.get("msgid"), str):
        return fallback
    params = key.get("params")
    if params:
        params = {name: render(value, "") if isinstance(value, dict | list) else value
                  for name, value in params.items()}
    try:
        if "plural" in key:
            text = ngettext(key["msgid"], key["plural"], params[key["number"]])
        elif "context" in key:
            text = pgettext(key["context"], key["msgid"])
        else:
            text = gettext(key["msgid"])
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return fallback or key["msgid"]


def message_key(message, params: dict | None = None) -> dict | None:
    """The key of `message` as a ValidationError holds it (with its `params`): a system
    text's, or a lazy translation's; None for text already translated (no key to keep)."""
    if isinstance(message, SystemText):
        key = message.key()
    elif isinstance(message, Promise):
        key = _lazy_key(message)
    else:
        return None
    if key is not None and params:
        key["params"] = {**key.get("params", {}),
                         **{name: _param(value) for name, value in params.items()}}
    return key


def _lazy_key(message: Promise) -> dict | None:
    # A lazy translation says what it translates only through the way it is pickled.
    try:
        _unpickle, (func, *rest) = message.__reduce__()
    except (TypeError, ValueError):
        return None
    if func is ngettext and len(rest) == 3 and isinstance(rest[1], str):
        _resultclass, number, words = rest
        return {"msgid": words["singular"], "plural": words["plural"], "number": number}
    if func is gettext and rest and len(rest[0]) == 1:
        return {"msgid": rest[0][0]}
    if func is pgettext and rest and len(rest[0]) == 2:
        return {"context": rest[0][0], "msgid": rest[0][1]}
    return None


def _param(value):
    """A ValidationError's parameter as a key keeps it: numbers stay numbers (for "%(n)d")."""
    if isinstance(value, SystemText | Promise):
        return message_key(value) or str(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)[:300]  # (Django's messages carry what was typed, of any length)
    return value


def text_and_key(reason) -> tuple[str, dict | None]:
    """What a record stores for `reason`: the text now (in the writer's language) and the
    key, when the system chose the words."""
    if isinstance(reason, SystemText):
        return str(reason), reason.key()
    return str(reason or ""), None
