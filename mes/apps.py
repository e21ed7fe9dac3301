from django.apps import AppConfig
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext_lazy as _


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = _("MES core")
    # Navigation entries this app contributes: (url name, label, capability or None).
    nav_items = (
        ("home", _("Home"), None),
        ("live", _("Live events"), None),
        ("user_list", _("Employees"), "manage_users"),
        ("audit_list", _("Audit log"), "view_audit"),
        ("api:tokens", _("API tokens"), "manage_users"),
        ("api:docs", _("API"), None),
    )

    def ready(self):
        from django.contrib import admin
        from django.db.models.signals import post_migrate

        from mes.tables import table_signatures_cached
        from mes.throttle import ThrottledAdminAuthenticationForm
        from mes.webhooks import install_beat_schedule

        install_beat_schedule()
        table_signatures_cached()
        # The admin's own sign-in page counts and refuses like the main one.
        admin.site.login_form = ThrottledAdminAuthenticationForm
        post_migrate.connect(cache_table_ensure, sender=self,
                             dispatch_uid="mes.apps.cache_table_ensure")


def cache_table_ensure(*, using=DEFAULT_DB_ALIAS, **_kwargs) -> None:
    """After every `migrate`: create the database cache's table if settings use one and it is
    missing. A hook rather than a migration: it also follows CACHES when it changes (Redis
    dropped later, another table name), and every place that migrates (serve, the compose
    `migrate` service, the production steps, the test database) gets the table with no extra
    step. createcachetable skips tables that exist and caches that are not in the database."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
