from django.core.management.commands import makemessages


class Command(makemessages.Command):
    """makemessages that also extracts the aliases some modules use (_g, _lazy) and the
    messages the system writes into records (mes.system_text.system_text)."""

    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=_g", "--keyword=_lazy",
                        "--keyword=system_text"]
