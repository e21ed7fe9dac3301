from django.core.management.base import BaseCommand

from mes.demo import demo_users_ensure


class Command(BaseCommand):
    help = "Create one demo account per role (idempotent) and print the logins."

    def handle(self, *args, **options):
        for username, role, password in demo_users_ensure():
            self.stdout.write(f"  {role:<14} {username:<10} {password}")
