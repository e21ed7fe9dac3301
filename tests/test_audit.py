import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from mes.audit import audit_entries_for, audit_record, audit_transitions_bulk, snapshot
from mes.models import AuditEntry
from mes.system_text import system_text

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_audit_records_who_what_before_after_and_why(make_user):
    actor = make_user("admin")
    subject = make_user("operator", badge_code="B-1")
    before = snapshot(subject)
    subject.badge_code = "B-2"
    subject.save()
    entry = audit_record(actor=actor, instance=subject, action="update", before=before,
                         reason="badge lost")
    assert entry.actor == actor and entry.reason == "badge lost"
    assert entry.changed_fields == ["badge_code"]
    assert entry.before["badge_code"] == "B-1" and entry.after["badge_code"] == "B-2"
    assert "password" not in entry.before and "password" not in entry.after
    assert list(audit_entries_for(subject)) == [entry]


@pytest.mark.parametrize(("plant", "expected"), [("zh-hans", "DIM 尺寸超差"),
                                                 ("en", "DIM Dimension")])
def test_an_entry_names_its_record_in_the_plants_language_whoever_wrote_it(
        make_user, settings, plant, expected):
    """A record named in Chinese and English reads the same in the log whether a Chinese or
    an English reader changed it: in the plant's language."""
    from tests.factories_execution import scrap_reason

    settings.LANGUAGE_CODE = plant
    actor = make_user("admin")
    reason = scrap_reason()
    names = set()
    for writer in ("en", "zh-hans"):
        with translation.override(writer):
            names.add(audit_record(actor=actor, instance=reason, action="update",
                                   reason="renamed").object_repr)
            names |= {e.object_repr for e in audit_transitions_bulk(
                actor=actor, instances=[reason], before={reason.pk: {}}, fields=("active",))}
    assert names == {expected}


def test_a_partial_before_lists_only_what_changed(make_user):
    """A service that snapshots only the fields it changes: the others are not 'changed from
    nothing' (a rework re-opening a work order listed every field, its ID and QR token too)."""
    actor = make_user("admin")
    subject = make_user("operator", badge_code="B-1", display_name="王")
    before = snapshot(subject, ["badge_code", "display_name"])
    subject.badge_code = "B-2"
    subject.save()
    entry = audit_record(actor=actor, instance=subject, action="update", before=before)
    assert entry.changed_fields == ["badge_code"]


def test_system_actor_and_request_id_recorded(make_user, client_as):
    subject = make_user("operator")
    entry = audit_record(actor=None, instance=subject, action="create")
    assert entry.actor is None and entry.actor_repr == "system"


def test_audit_list_speaks_the_readers_language(client_as, make_user):
    """Record types, changed fields and the system as actor, in zh-hans; the export keeps the
    stored codes (machines read it too)."""
    subject = make_user("operator", badge_code="B-1")
    before = snapshot(subject)
    subject.badge_code = "B-2"
    subject.save()
    audit_record(actor=None, instance=subject, action="update", before=before, reason="r")
    c = client_as("admin")
    html = c.get(reverse("audit_list"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    with translation.override("zh-hans"):
        shown = [str(capfirst(subject._meta.verbose_name)),
                 str(capfirst(subject._meta.get_field("badge_code").verbose_name)),
                 gettext("system")]
    assert shown[2] != "system"
    for text in shown:
        assert text in html, text
    assert ">system<" not in html and "badge_code" not in html
    csv = c.get(reverse("audit_list") + "?export=csv").content.decode("utf-8-sig")
    assert "badge_code" in csv


def test_audit_list_filters_by_record_and_exports(client_as, make_user):
    a, b = make_user("operator"), make_user("operator")
    audit_record(actor=None, instance=a, action="create", reason="alpha")
    audit_record(actor=None, instance=b, action="create", reason="bravo")
    c = client_as("admin")
    response = c.get(reverse("audit_list"), {"object_id": str(a.pk),
                                             "content_type": AuditEntry.objects.first()
                                             .content_type_id})
    assert response.status_code == 200
    rows = response.context["table"].rows
    assert [r.record.reason for r in rows] == ["alpha"]
    csv = c.get(reverse("audit_list"), {"export": "csv", "q": "bravo"})
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig")
    assert "bravo" in text and "alpha" not in text
    assert "+00:00" not in text  # plant-local time
    xlsx = c.get(reverse("audit_list"), {"export": "xlsx"})
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    reasons = [row[-2] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(reasons) == ["alpha", "bravo"]
    assert c.get(reverse("audit_list"), {"export": "pdf"}).status_code == 400


def test_htmx_gets_only_the_table(client_as):
    c = client_as("admin")
    full = c.get(reverse("user_list"))
    part = c.get(reverse("user_list"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="object-list")
    assert b"<html" in full.content and b"<html" not in part.content
    assert b"<table" in part.content


def test_list_query_count_does_not_grow_with_rows(client_as, make_user,
                                                  django_assert_max_num_queries):
    c = client_as("admin")
    for _ in range(3):
        make_user("operator")
    with django_assert_max_num_queries(12) as few:
        c.get(reverse("user_list"))
    for _ in range(30):
        make_user("planner", )
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get(reverse("user_list"))


def test_exports_do_not_let_spreadsheets_run_formulas():
    from mes.export import export_response

    rows = [["=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)", -3, "plain"]]
    csv = export_response(basename="x", fmt="csv", header=["a"] * 6, rows=rows)
    line = csv.content.decode("utf-8-sig").splitlines()[1]
    assert line.startswith("\"'=HYPERLINK") and ",'+1,'-2,'@SUM(A1),-3,plain" in line
    xlsx = export_response(basename="x", fmt="xlsx", header=["a"] * 6, rows=rows)
    ws = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    values = [c.value for c in ws[2]]
    assert values[0].startswith("'=") and values[4] == -3 and values[5] == "plain"


def _headers(html: str) -> list[str]:
    import re

    return [re.sub(r"<[^>]+>", "", h).strip()
            for h in re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)]


def test_list_headers_start_with_a_capital(client_as):
    """verbose_name is lower case by Django's convention; a list's headers are not."""
    c = client_as("admin", "manager", "workshop_lead", "qc_inspector")
    for url in (reverse("user_list"), reverse("quality:qc_queue"), reverse("alerts:alert_list"),
                reverse("quality:acceptance_queue"),
                reverse("dashboards:kpi_records", args=["downtime", "numerator"])):
        # an empty list shows no table: the headers come from an export
        html = c.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        csv = c.get(url, {"export": "csv"}, HTTP_ACCEPT_LANGUAGE="en").content.decode("utf-8-sig")
        headers = _headers(html) + csv.splitlines()[0].split(",")
        lower = [h for h in headers if h and h[0].islower()]
        assert not lower, (url, lower)
    assert "Roles" in _headers(c.get(reverse("user_list"), HTTP_ACCEPT_LANGUAGE="en")
                               .content.decode())


def test_favicon_ico_points_at_the_icon(client):
    response = client.get("/favicon.ico")  # no sign-in needed: browsers ask on any page
    assert response.status_code == 301 and response["Location"].endswith("mes/favicon.svg")


def test_the_systems_words_follow_the_readers_language(make_user):
    """Words the system chose are kept as a message and its values: written while a Chinese
    reader was active, they read in English to an English reader (and the stored text keeps
    the writer's language for search and export)."""
    subject = make_user("operator")
    with translation.override("zh-hans"):
        entry = audit_record(actor=None, instance=subject, action="create",
                             reason=system_text("rework of %(nc)s", nc="NC-7"))
        chinese = gettext("rework of %(nc)s") % {"nc": "NC-7"}
    assert chinese != "rework of NC-7"
    entry.refresh_from_db()
    assert entry.reason == chinese
    assert entry.reason_key == {"msgid": "rework of %(nc)s", "params": {"nc": "NC-7"}}
    with translation.override("en"):
        assert entry.reason_shown == "rework of NC-7"
    with translation.override("zh-hans"):
        assert entry.reason_shown == chinese


def test_a_persons_words_and_older_entries_show_as_stored(make_user):
    subject = make_user("operator")
    typed = audit_record(actor=None, instance=subject, action="create", reason="换刀具")
    assert typed.reason_key is None and typed.reason_shown == "换刀具"
    # A key that does not fit its message (edited by hand, or a message changed since): the
    # stored text, never an error.
    typed.reason_key = {"msgid": "rework of %(nc)s", "params": {"other": "x"}}
    assert typed.reason_shown == "换刀具"
    typed.reason_key = ["not", "a", "key"]
    assert typed.reason_shown == "换刀具"


def test_history_pages_show_the_systems_words_in_the_readers_language(client_as, make_user):
    """A planner working in Chinese explodes an order; an English reader of its history and
    of the audit list reads "BOM explosion", not the planner's "BOM 展开"."""
    from tests.factories_execution import released_order

    planner = make_user("planner")
    with translation.override("zh-hans"):
        wo, _tasks, _wc = released_order(planner=planner)
        chinese = gettext("BOM explosion")
    assert chinese != "BOM explosion"
    order = wo.production_order
    stored = AuditEntry.objects.get(object_id=str(order.pk), reason=chinese)
    assert stored.reason_key == {"msgid": "BOM explosion"}
    c = client_as("planner", "admin")
    for url in (reverse("planning:order_detail", args=[order.pk]), reverse("audit_list")):
        html = c.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "BOM explosion" in html, url
        assert chinese not in html, url
    html = c.get(reverse("planning:order_detail", args=[order.pk]),
                 HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert chinese in html


def test_a_demo_accounts_creation_names_its_role_in_the_readers_language():
    """The demo accounts' creation entries keep each one's role: shown as 角色 to a zh-hans
    reader, not as the stored key."""
    from mes.demo import DEMO_USERS, demo_users_ensure

    demo_users_ensure()
    entry = AuditEntry.objects.filter(reason="demo account").order_by("pk").first()
    assert "role" in entry.changed_fields and len(DEMO_USERS) > 1
    with translation.override("zh-hans"):
        labels = entry.changed_labels
    assert "角色" in labels and "Role" not in labels, labels
