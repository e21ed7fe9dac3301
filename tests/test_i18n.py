"""Every UI string is translated to zh-hans (and en), and the compiled catalogs are current."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.urls import reverse
from django.utils import translation

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


# --- Chinese punctuation ----------------------------------------------------------------------
CJK = "[\u4e00-\u9fff]"  # Chinese words (not punctuation)


def test_no_msgid_holds_chinese():
    """A msgid is what an English page shows: "Report quantity (报工)" put Chinese on it
    (walk #4). The Chinese goes in the zh-hans msgstr. Only a text bilingual on purpose (the
    traveler's watermark, marked so in its context) keeps both languages in its msgid."""
    import re

    chinese = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
    for locale in LOCALES:
        po = polib.pofile(str(Path(ROOT, "locale", locale, "LC_MESSAGES", "django.po")))
        found = [e.msgid for e in po
                 if chinese.search(e.msgid + (e.msgid_plural or ""))
                 and "bilingual on purpose" not in (e.msgctxt or "")]
        assert not found, f"{locale}: Chinese in msgids {found}"


def test_zh_catalog_punctuates_chinese_full_width():
    """Chinese text takes a full-width colon (no space after it) and full-width parentheses:
    "原因：…", "返工率（%）", not "原因: …" or "返工率 (%)"."""
    import re

    po = polib.pofile(str(Path(ROOT, "locale", "zh_Hans", "LC_MESSAGES", "django.po")))
    ascii_next_to_chinese = re.compile(
        rf"{CJK}\s*[:()]|[:(]\s*{CJK}|\)\s*{CJK}|%\([a-z_]+\)s: |\)s \(")
    wrong = [(e.msgid, e.msgstr) for e in po.translated_entries()
             if ascii_next_to_chinese.search(re.sub(r"MES:[A-Z]:", "", e.msgstr))]
    assert not wrong, wrong


def _in_templates(pattern) -> list[str]:
    """"path: match" for each match of the compiled `pattern` in the project's templates."""
    return [f"{path.relative_to(ROOT)}: {m.group(0)}"
            for path in Path(ROOT, "templates").rglob("*.html")
            for m in pattern.finditer(path.read_text(encoding="utf-8"))]


def test_templates_leave_the_punctuation_around_words_to_the_catalog():
    """A template that writes `{% translate "Why" %}: …` or `({% translate "inactive" %})`
    shows Chinese readers "原因: …" and "(停用)": the colon and the parentheses belong in a
    message ("%(label)s: %(value)s", "(%(note)s)", ": " in context "label separator")."""
    import re

    glued = re.compile(r'(\{% translate "[^"]*" %\}|\{% endblocktranslate %\})\s?[:(]'
                       r'|\(\{% (translate|blocktranslate)')
    found = _in_templates(glued)
    assert not found, found


@pytest.mark.django_db
def test_zh_pages_and_refusals_use_full_width_punctuation(client_as):
    """What the walk of the demo in zh-hans found: a station refusal "报废原因: 请选择…", a KPI
    records title "任务准时率: 准时完工", "定义:", an alert title "检验不合格: QC…"."""
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from alerts.services.notify import notification_title
    from execution.services.refusals import refusal_reason
    from mes.system_text import render, system_text
    from tests.factories_kpi import alert

    with translation.override("zh-hans"):
        text, key = refusal_reason(ValidationError(
            {"scrap_reason": system_text("Pick the scrap reason.")}))
        assert text == "报废原因：请选择报废原因。"
        assert render(key) == text  # kept for the lead, read back the same
        a = alert(raised_at=timezone_now(), severity="critical")
        assert notification_title(a) == f"严重 · {a.rule.display_name}：{a.subject_repr}"
    with translation.override("en"):
        assert refusal_reason(ValidationError(
            {"scrap_reason": system_text("Pick the scrap reason.")}))[0] == (
            "Scrap reason: Pick the scrap reason.")
    client = client_as("manager")
    page = client.get(reverse("dashboards:kpi_records", args=["on_time", "numerator"]),
                      HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "任务准时率：准时完工" in page and "任务准时率: " not in page
    page = client.get(reverse("dashboards:kpi_detail", args=["on_time"]),
                      HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "定义：</b>" in page and "定义:" not in page
    assert "任务准时率（%）" in page


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_the_short_completion_question_names_good_as_the_report_form_does():
    """Asked why units are not reported, the operator is told to report them as good or scrap
    in the words of the report form's own fields (zh: 良品, not 合格, which is QC's word)."""
    from execution.forms import ReportForm

    with translation.override("zh-hans"):
        good = str(ReportForm.base_fields["good"].label)
        for msgid in ("%(short)s of %(input)s are not reported on %(task)s. Report them as "
                      "good or scrap, or give the reason to complete it short.",
                      "%(short)s of %(input)s are not reported on rework task %(task)s: its "
                      "units are all at the station, report each one as good or scrap."):
            text = translation.gettext(msgid)
            assert f"{good}或报废" in text, text


# --- lists and notes --------------------------------------------------------------------------
def _zh_catalog():
    return polib.pofile(str(Path(ROOT, "locale", "zh_Hans", "LC_MESSAGES", "django.po")))


def test_lists_read_with_the_enumeration_comma_in_chinese():
    """Names one after another read "WC01、WC02" in Chinese, "WC01, WC02" in English: the
    separator is a message (", " in context "list separator"), used by mes.labels.join_list."""
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from mes.api.tokens import _check_scopes
    from mes.labels import join_list

    assert _zh_catalog().find(", ", msgctxt="list separator").msgstr == "、"
    for language, joined, refusal in (
            ("zh-hans", "甲、乙、丙", "未知的授权范围：no.a、no.b。"),
            ("en", "甲, 乙, 丙", "Unknown scope(s): no.a, no.b.")):
        with translation.override(language):
            assert join_list(["甲", "乙", "丙"]) == joined
            with pytest.raises(ValidationError) as refused:
                _check_scopes(["no.b", "no.a"])
            assert refused.value.message_dict["scopes"] == [refusal]


def test_reasons_one_after_another_read_with_the_full_width_semicolon_in_chinese():
    """Reasons and statements joined for a reader ("no routing; WC9 inactive") use the
    separator message (context "clause separator", "；" in Chinese) through
    mes.labels.join_clauses; no application code joins readers' text with an ASCII "; "."""
    import re

    from django.utils import translation

    from mes.labels import join_clauses

    assert _zh_catalog().find("; ", msgctxt="clause separator").msgstr == "；"
    with translation.override("zh-hans"):
        assert join_clauses(["无工艺路线", "WC9 已停用"]) == "无工艺路线；WC9 已停用"
    with translation.override("en"):
        assert join_clauses(["no routing", "WC9 inactive"]) == "no routing; WC9 inactive"
    ascii_join = re.compile(r'"; "\.join\(')
    found = [f"{path}:{n}" for app in ("mes", "planning", "execution", "quality", "alerts",
                                       "dashboards")
             for path in sorted(Path(ROOT, app).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if ascii_join.search(line)]
    assert not found, found


def test_templates_join_lists_for_the_reader():
    """`|join:", "` and `{% if not forloop.last %}, {% endif %}` show Chinese readers ASCII
    commas between names: templates use `|join_list` ({% load labels %}) or the separator
    message."""
    import re

    ascii_list = re.compile(r'\|join:", "|forloop\.last %\}, \{%')
    found = _in_templates(ascii_list)
    assert not found, found


@pytest.mark.django_db
def test_a_page_lists_names_with_the_enumeration_comma(client_as):
    client = client_as("planner", "workshop_lead")
    zh = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "您的角色：计划员、车间主管" in zh or "您的角色：车间主管、计划员" in zh, zh
    en = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Planner, Workshop lead" in en or "Workshop lead, Planner" in en


def test_zh_catalog_has_no_space_before_a_full_width_parenthesis():
    """"名称（备注）", not "名称 （备注）": a message whose English has a space before "(" has
    none before "（" in Chinese."""
    import re

    wrong = [(e.msgid, e.msgstr) for e in _zh_catalog().translated_entries()
             if re.search(r"\s（", e.msgstr)]
    assert not wrong, wrong


def test_templates_leave_the_space_before_a_note_to_the_catalog():
    """`name {% blocktranslate %}({{ note }})…` keeps the template's space in Chinese,
    "名称 （备注）": the space belongs in the message (" (%(note)s)" in context "note after
    text", or "%(text)s (%(note)s)")."""
    import re

    spaced = re.compile(r'\s\{% blocktranslate [^%]*%\}\(|\s\{% translate "\(')
    found = _in_templates(spaced)
    assert not found, found


@pytest.mark.django_db
def test_a_note_after_a_name_has_no_space_before_it_in_chinese(client_as):
    """Where an item is used in an inactive BOM version: "v1（已停用）" / "v1 (inactive)"."""
    from tests.factories import BOMLineFactory

    line = BOMLineFactory(bom__active=False)
    client = client_as("planner")
    url = reverse("planning:item_detail", args=[line.child.pk])
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '</a><span class="muted">（已停用）</span>' in zh
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '</a><span class="muted"> (inactive)</span>' in en


@pytest.mark.django_db
def test_alert_detail_form_labels_take_no_ascii_colon(client_as):
    """The alert page's resolve and comment forms read "原因:", "处理措施:", "评论:" (Django's
    default label suffix) where every other form labels its fields without one."""
    import re

    from tests.factories_kpi import alert

    a = alert(raised_at=timezone_now(), severity="critical")
    page = client_as("workshop_lead").get(reverse("alerts:alert_detail", args=[a.pk]),
                                          HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    labels = dict(re.findall(r'<label for="id_(cause|action|text)">([^<]*)</label>', page))
    assert labels == {"cause": "原因", "action": "处理措施", "text": "评论"}, labels
    assert not re.search(rf"{CJK}:", re.sub(r"<[^>]*>", "", page))


def test_templates_render_forms_through_the_apps_field_templates():
    """`{{ form }}`, `form.as_div` and the like lay fields out Django's way, each label followed
    by an ASCII ":" (in Chinese too): forms go through a field template of the app's
    (planning/_form_fields.html, alerts/_form_fields.html) or name their fields."""
    import re

    # A whole form in one variable, or laid out by Django (a formset's management form is
    # hidden inputs: no labels).
    django_layout = re.compile(r"\{\{\s*([\w.]*\.as_(div|p|table|ul)"
                               r"|(?![\w.]*management_form)[\w.]*form)\s*\}\}")
    found = _in_templates(django_layout)
    assert not found, found
