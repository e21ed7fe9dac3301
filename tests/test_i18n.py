"""Every UI string is translated to zh-hans (and en), and the compiled catalogs are current."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.urls import reverse

from tests.conftest import ROOT

pytestmark = pytest.mark.embedded
LOCALES = ["zh_Hans", "en"]


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_complete_and_compiled(locale):
    folder = Path(ROOT, "locale", locale, "LC_MESSAGES")
    po = polib.pofile(str(folder / "django.po"))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"{locale}: untranslated {untranslated}"
    assert not fuzzy, f"{locale}: fuzzy {fuzzy}"
    mo = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural)
          for e in polib.mofile(str(folder / "django.mo"))}
    stale = [e.msgid for e in po.translated_entries()
             if mo.get((e.msgctxt, e.msgid), (None, None))
             != (e.msgstr, e.msgstr_plural if e.msgid_plural else {})]
    assert not stale, f"{locale}: django.mo is older than django.po for {stale} (make messages)"


SOURCES = ["manage.py", "mes", "planning", "execution", "quality", "alerts", "dashboards",
           "templates", "locale"]


def test_every_string_marked_for_translation_is_in_the_catalogs(tmp_path):
    """A string the code marks for translation but the catalogs lack is shown in English on
    a zh-hans page: `make messages` (xgettext over a copy of the sources) must add nothing."""
    if shutil.which("xgettext") is None:
        if os.environ.get("CI"):
            pytest.fail("xgettext not found; .ci/run installs Debian's gettext")
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    for name in SOURCES:
        source = Path(ROOT, name)
        if source.is_dir():
            shutil.copytree(source, tmp_path / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    subprocess.run([sys.executable, "manage.py", "makemessages", "--no-obsolete",  # noqa: S603
                    *(f"-l{loc}" for loc in LOCALES)],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    for locale in LOCALES:
        def ids(root, locale=locale):
            return {(e.msgctxt, e.msgid) for e in
                    polib.pofile(str(Path(root, "locale", locale, "LC_MESSAGES", "django.po")))}

        missing = ids(tmp_path) - ids(ROOT)
        assert not missing, f"{locale}: not in the catalog (make messages): {sorted(missing)}"


@pytest.mark.django_db
def test_language_from_browser_and_switchable(client_as):
    c = client_as("planner")
    zh = c.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert "首页" in zh.content.decode()
    en = c.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "Home" in en.content.decode() and "首页" not in en.content.decode()
    c.post(reverse("set_language"), {"language": "zh-hans", "next": "/"},
           HTTP_ACCEPT_LANGUAGE="en-US")
    switched = c.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "首页" in switched.content.decode()


@pytest.mark.django_db
def test_zh_headers_tell_the_step_number_from_the_operation(client_as):
    """"Step" (its number) and "Operation" (its name) side by side read 工序号 and 工序, not
    工序 twice: the work order page, acceptance, the archive and the traveler."""
    import re

    from django.utils import translation

    from tests.factories import UserFactory
    from tests.factories_quality import accepted_order, measured_plan

    client = client_as("manager", "workshop_lead", "qc_inspector", "planner")
    record = accepted_order(measured_plan(), UserFactory(roles=["operator"]),
                            UserFactory(roles=["qc_inspector"]),
                            UserFactory(roles=["workshop_lead"]))
    wo = record.work_order
    with translation.override("zh-hans"):
        step, operation = translation.gettext("Step"), translation.gettext("Operation")
    assert step != operation
    for url in (reverse("planning:work_order_detail", args=[wo.pk]),
                reverse("quality:acceptance", args=[wo.pk]),
                reverse("quality:archive_detail", args=[record.pk]),
                reverse("planning:traveler", args=[wo.pk])):
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        for head in re.findall(r"<thead>(.*?)</thead>", html, re.S):
            headers = [re.sub(r"<[^>]+>", "", h).strip()
                       for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
            assert len(headers) == len(set(headers)), (url, headers)
            if "工序" in headers:
                assert "工序号" in headers, (url, headers)


@pytest.mark.django_db
def test_names_of_things_read_mingcheng_and_a_persons_name_xingming(client_as):
    """姓名 is a person's name: a webhook's, an API key's or a holiday's name reads 名称."""
    from django.utils import translation

    from alerts.models import WebhookEndpoint
    from mes.models import ApiToken, User, WebhookSubscription
    from planning.models.plant import Holiday

    with translation.override("zh-hans"):
        for model in (WebhookEndpoint, ApiToken, WebhookSubscription, Holiday):
            assert str(model._meta.get_field("name").verbose_name) == "名称", model
        assert str(User._meta.get_field("display_name").verbose_name) == "姓名"
    page = client_as("manager").get(reverse("alerts:webhook_add"),
                                    HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "名称" in page and "姓名" not in page
