"""Settings come from the environment; the embedded default needs no service."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.embedded

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as c:
    c.execute("PRAGMA journal_mode") if connection.vendor == "sqlite" else c.execute("SELECT 1")
    mode = c.fetchone()[0]
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "tx": settings.DATABASES["default"].get("OPTIONS", {}).get("transaction_mode"),
    "journal": mode, "broker": settings.CELERY_BROKER_URL, "key": settings.SECRET_KEY,
    "tz": settings.TIME_ZONE, "lang": settings.LANGUAGE_CODE, "debug": settings.DEBUG,
    "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
    "cache_at": str(settings.CACHES["default"]["LOCATION"]),
    "control": settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("control_folder"),
}))
"""


def probe(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL",
                                                             "SECRET_KEY", "DEBUG"}}
    base.update({"DJANGO_SETTINGS_MODULE": "mes.settings", "MES_VAR_DIR": str(tmp_path)}, **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=base, check=True,  # noqa: S603
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_default_is_sqlite_wal_immediate_with_file_broker(tmp_path):
    s = probe(tmp_path)
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"] == str(tmp_path / "mes.sqlite3")
    assert s["journal"] == "wal"
    assert s["tx"] == "IMMEDIATE"
    assert s["broker"] == "filesystem://"
    assert (tmp_path / "broker" / "queue").is_dir()
    # kombu's exchange tables go under var/broker too, not into the current directory
    assert s["control"] == str(tmp_path / "broker" / "control")
    # one cache shared by every process (the login throttle): a table in the database
    assert s["cache"] == "DatabaseCache" and s["cache_at"] == "mes_cache"
    assert s["tz"] == "Asia/Shanghai" and s["lang"] == "zh-hans" and s["debug"] is False


def test_secret_key_generated_once_and_reused(tmp_path):
    first = probe(tmp_path)["key"]
    second = probe(tmp_path)["key"]
    assert first == second and len(first) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    assert probe(tmp_path, SECRET_KEY="x" * 60)["key"] == "x" * 60


def test_environment_overrides(tmp_path):
    s = probe(tmp_path, TIME_ZONE="Europe/Berlin", LANGUAGE_CODE="en", DEBUG="1",
              REDIS_URL="redis://127.0.0.1:6379/3",
              DATABASE_URL=f"sqlite:///{tmp_path / 'other.db'}")
    assert s["tz"] == "Europe/Berlin" and s["lang"] == "en" and s["debug"] is True
    assert s["broker"] == "redis://127.0.0.1:6379/3"
    assert s["cache"] == "RedisCache" and s["cache_at"] == "redis://127.0.0.1:6379/3"
    assert s["name"] == str(tmp_path / "other.db")


def test_production_settings_pass_check_deploy(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DEBUG", "MES_INSECURE_HTTP", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"MES_VAR_DIR": str(tmp_path), "ALLOWED_HOSTS": "mes.plant.example",
                "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/mes",
                "REDIS_URL": "redis://127.0.0.1:6379/0"})
    out = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


@pytest.mark.django_db
def test_migrate_creates_the_database_cache_table(settings):
    """Every place that runs `migrate` (serve, the compose migrate service, the production
    steps) gets the cache table with it: MesConfig's post-migrate hook. A table of its own
    here, so the real one is left alone; the test's transaction drops it again."""
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                                   "LOCATION": "mes_cache_probe"}}
    assert "mes_cache_probe" not in connection.introspection.table_names()
    call_command("migrate", interactive=False, verbosity=0)
    assert "mes_cache_probe" in connection.introspection.table_names()
    cache.set("probe", 42)
    assert cache.get("probe") == 42


def test_client_errors_are_logged_without_traceback():
    """A 403 or 400 logs its line; a 500 keeps its traceback."""
    import logging
    import sys

    from django.conf import settings as django_settings

    from mes.log_filters import ClientErrorsWithoutTraceback

    assert "client_errors" in django_settings.LOGGING["handlers"]["console"]["filters"]
    try:
        raise PermissionError("nope")
    except PermissionError:
        exc_info = sys.exc_info()
    records = {}
    for status in (403, 400, 500):
        record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                                   "Forbidden: %s", ("/x/",), exc_info)
        record.status_code = status
        assert ClientErrorsWithoutTraceback().filter(record)
        records[status] = record
    assert records[403].exc_info is None and records[400].exc_info is None
    assert records[500].exc_info is exc_info
