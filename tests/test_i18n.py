"""Every UI string is translated to zh-hans (and en), and the compiled catalogs are current."""

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
    mo = {e.msgid: (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(folder / "django.mo"))}
    stale = [e.msgid for e in po.translated_entries() if mo.get(e.msgid, (None, None)) !=
             (e.msgstr, e.msgstr_plural if e.msgid_plural else {})]
    assert not stale, f"{locale}: django.mo is older than django.po for {stale} (make messages)"


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
