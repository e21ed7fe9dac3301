"""Django set-up for database benchmarks: a fresh PostgreSQL database, migrated."""

import os

BENCH_DB = os.environ.get("BENCH_DATABASE_URL",
                          "postgres://postgres@127.0.0.1:5432/mes_bench")
_ready = False


def setup_django() -> None:
    """Point Django at a freshly created bench database (once per process) and migrate."""
    global _ready
    if _ready:
        return
    import psycopg

    name = BENCH_DB.rsplit("/", 1)[1]
    admin_url = BENCH_DB.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings")
    os.environ.setdefault("MES_INSECURE_HTTP", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    _ready = True


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
