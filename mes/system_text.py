"""Words the system writes into records (an audit entry's "why"), shown to each reader in
their own language.

A person's words are stored as typed. Words the system chooses ("BOM explosion", "rework of
NC-12") used to be stored translated into the language of whoever triggered them, so a
Chinese planner's explosion read "BOM 展开" to an English-speaking manager for good. A
`SystemText` keeps its message id (the English source, extracted for translation:
mes/management/commands/makemessages.py knows `system_text`) and its parameters. The record
stores that key beside the text in the writer's language (kept for search, export and the
admin), and pages render the key again in the reader's language with `render`.

Parameters are values, not words: codes, numbers, a person's own text.
"""

from django.utils.translation import gettext


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
    """`msgid` (a literal, so it is extracted for translation) with its parameters."""
    return SystemText(msgid, {name: str(value) for name, value in params.items()})


def render(key, fallback: str = "") -> str:
    """A stored key in the current language; `fallback` (the stored text) when the key is
    not one (an entry written before keys were kept) or does not fit its message."""
    if not isinstance(key, dict) or not isinstance(key.get("msgid"), str):
        return fallback
    text = gettext(key["msgid"])
    params = key.get("params")
    if params:
        try:
            text = text % params
        except (KeyError, ValueError, TypeError):
            return fallback or key["msgid"]
    return text


def text_and_key(reason) -> tuple[str, dict | None]:
    """What a record stores for `reason`: the text now (in the writer's language) and the
    key, when the system chose the words."""
    if isinstance(reason, SystemText):
        return str(reason), reason.key()
    return str(reason or ""), None
