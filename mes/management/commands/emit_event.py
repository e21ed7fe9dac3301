from django.core.management.base import BaseCommand, CommandError

from mes.services import ValidationError, demo_message_post


class Command(BaseCommand):
    help = "Post a message to the live demo page from this process (proves cross-process push)."

    def add_arguments(self, parser):
        parser.add_argument("text")

    def handle(self, *args, text, **options):
        try:
            event = demo_message_post(actor=None, text=text)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        self.stdout.write(str(event.id))
