"""Recorded stops: the list every station viewer sees, and a workshop lead's correction of a
stop (times, reason, planned, note; always with why), audit-logged and shown in its history.
A correction can also repair a stop whose start was recorded wrong while it is still going on:
the equipment's "since" follows, so the station can set its state again."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from execution.models import DowntimeEvent, DowntimeReason, EquipmentState
from execution.services.equipment import equipment_set_state
from mes.models import AuditEntry, Event
from planning.models import Equipment
from tests.conftest import browser_login, screenshot
from tests.factories import PASSWORD, WorkCenterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reasons():
    return (DowntimeReason.objects.create(code="BRK", name="设备故障", name_en="Breakdown"),
            DowntimeReason.objects.create(code="TOOL", name="换刀", name_en="Tool change"))


def stops(n, reason, *, wc=None):
    wc = wc or WorkCenterFactory()
    eq = Equipment.objects.create(code=f"EQ-{wc.code}", name="车床", work_center=wc)
    start = timezone.now() - datetime.timedelta(days=2)
    made = []
    for i in range(n):
        made.append(DowntimeEvent.objects.create(
            equipment=eq, reason=reason, start=start + datetime.timedelta(minutes=30 * i),
            end=start + datetime.timedelta(minutes=30 * i + 20)))
    return eq, made


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_list_costs_the_same_queries_for_few_and_many(client_as, reasons,
                                                      django_assert_max_num_queries):
    client = client_as("operator")
    stops(3, reasons[0])
    url = reverse("execution:downtime_list")
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    stops(40, reasons[1])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('data-testid="downtime-row"') == 43
    ongoing = client.get(url, {"ongoing": "true"})
    assert 'data-testid="downtime-row"' not in ongoing.content.decode()


def test_a_cleared_reason_is_cleared_or_refused_never_kept_silently(client_as, reasons):
    """The form sends the stop as the lead left it: a reason picked back to "---------" is
    no reason. An unplanned stop is refused for it (and keeps its reason); a planned one
    (maintenance) loses it. It was kept with "Stop corrected." either way."""
    client = client_as("workshop_lead")
    _eq, (stop,) = stops(1, reasons[0])
    url = reverse("execution:downtime_detail", args=[stop.pk])
    form = {"start": local(stop.start), "end": local(stop.end), "reason": "", "note": "",
            "why": "reason was wrong"}
    refused = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "An unplanned stop needs its reason." in refused.content.decode()
    stop.refresh_from_db()
    assert stop.reason == reasons[0]
    assert client.post(url, {**form, "planned": "on"}).status_code == 302
    stop.refresh_from_db()
    assert stop.planned and stop.reason is None


def test_lead_corrects_a_stop_every_refusal_names_the_field(client_as, reasons):
    client = client_as("workshop_lead")
    eq, (stop,) = stops(1, reasons[0])
    url = reverse("execution:downtime_detail", args=[stop.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="downtime-form"' in page and "No recorded changes yet." in page
    Equipment.objects.filter(pk=eq.pk).update(name_en="Lathe")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{eq.code} Lathe" in page and "车床" not in page  # names in the page's language
    form = {"start": local(stop.start), "end": local(stop.end), "reason": reasons[1].pk,
            "note": "", "why": ""}
    refused = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert 'data-field="why"' in refused.content.decode()
    backwards = client.post(url, {**form, "end": local(stop.start - datetime.timedelta(
        minutes=5)), "why": "typo"}, HTTP_ACCEPT_LANGUAGE="en")
    assert backwards.status_code == 400
    assert "The end must be after the start." in backwards.content.decode()
    future = timezone.now() + datetime.timedelta(hours=2)
    ahead = client.post(url, {**form, "end": local(future), "why": "typo"},
                        HTTP_ACCEPT_LANGUAGE="en")
    assert "The end cannot be in the future." in ahead.content.decode()
    other = DowntimeEvent.objects.create(equipment=eq, reason=reasons[0],
                                         start=stop.end + datetime.timedelta(minutes=10),
                                         end=stop.end + datetime.timedelta(minutes=40))
    overlapping = client.post(url, {**form, "end": local(other.start + datetime.timedelta(
        minutes=5)), "why": "typo"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "overlap another stop of" in overlapping.content.decode()
    stop.refresh_from_db()
    assert stop.reason == reasons[0] and not AuditEntry.objects.filter(
        content_type__model="downtimeevent").exists()

    new_end = stop.start + datetime.timedelta(minutes=12)
    done = client.post(url, {**form, "end": local(new_end), "why": "班长核实 checked by lead"})
    assert done.status_code == 302
    stop.refresh_from_db()
    assert (stop.end, stop.reason) == (new_end.replace(second=0, microsecond=0), reasons[1])
    entry = AuditEntry.objects.get(content_type__model="downtimeevent", object_id=str(stop.pk))
    assert set(entry.changed_fields) == {"end", "reason"}
    assert entry.reason == "班长核实 checked by lead" and entry.actor_id == client.user.pk
    assert Event.objects.filter(kind="downtime.corrected").count() == 2  # plant and station
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "班长核实 checked by lead" in page and "Tool change" in page


def test_only_leads_correct(client_as, reasons):
    _eq, (stop,) = stops(1, reasons[0])
    client = client_as("operator")
    url = reverse("execution:downtime_detail", args=[stop.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="downtime-record"' in page and 'data-testid="downtime-form"' not in page
    assert client.post(url, {"start": local(stop.start), "why": "x"}).status_code == 403


def test_a_stop_going_on_with_a_wrong_start_is_repaired(client_as, reasons, make_user):
    """A stop recorded with a start in the future kept the machine down: no state change
    could be earlier than it. The lead corrects the start; the station can set it running."""
    op = make_user("operator")
    eq, _ = stops(0, reasons[0])
    later = timezone.now() + datetime.timedelta(days=30)
    stop = DowntimeEvent.objects.create(equipment=eq, reason=reasons[0], start=later)
    EquipmentState.objects.create(equipment=eq, state="down", reason=reasons[0], since=later)
    client = client_as("workshop_lead")
    url = reverse("execution:downtime_detail", args=[stop.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="end"' not in page and "still going on" in page
    began = timezone.now() - datetime.timedelta(minutes=20)
    response = client.post(url, {"start": local(began), "reason": reasons[0].pk,
                                 "why": "wrong clock on the tablet"})
    assert response.status_code == 302
    state = EquipmentState.objects.get(equipment=eq)
    assert state.since == began.replace(second=0, microsecond=0)
    equipment_set_state(actor=op, equipment=eq, state="running")
    stop.refresh_from_db()
    assert stop.end is not None and stop.end > stop.start


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_lead_corrects_a_stop_in_the_browser(asgi_server, page, make_user, reasons):
    lead = make_user("workshop_lead", username="lead7")
    eq, (stop,) = stops(1, reasons[0])
    browser_login(page, asgi_server, lead.username, PASSWORD)
    page.goto(asgi_server.url + "/execution/downtime/")
    page.get_by_test_id("downtime-row").first.get_by_role("link").click()
    page.get_by_test_id("downtime-form").wait_for()
    page.get_by_label("reason").select_option(str(reasons[1].pk))
    page.get_by_test_id("save").click()
    assert page.locator('[data-field="why"]').inner_text()  # why is required
    page.get_by_label("Why is it corrected").fill("operator picked the wrong reason")
    page.get_by_test_id("save").click()
    page.get_by_text("corrected.").wait_for()
    assert "operator picked the wrong reason" in page.get_by_test_id("history").inner_text()
    screenshot(page, "downtime-corrected")
    stop.refresh_from_db()
    assert stop.reason == reasons[1]


def test_a_lead_correcting_a_stop_going_on_is_seen_at_the_station_and_on_the_board(
        client_as, reasons, make_user):
    """The operator picked "Breakdown"; the lead corrects the stop still going on to "Tool
    change": the equipment's state (what the station panel and the board show) takes the new
    reason, and both hear of it. Marked planned, the machine is in maintenance."""
    from execution.views.terminal import EQUIPMENT_EVENTS

    op = make_user("operator")
    eq, _ = stops(0, reasons[0])
    began = timezone.now() - datetime.timedelta(minutes=20)
    equipment_set_state(actor=op, equipment=eq, state="down", reason=reasons[0], at=began)
    stop = DowntimeEvent.objects.get(end=None)
    client = client_as("workshop_lead")
    url = reverse("execution:downtime_detail", args=[stop.pk])
    response = client.post(url, {"start": local(stop.start), "reason": reasons[1].pk,
                                 "why": "it was a tool change"})
    assert response.status_code == 302
    state = EquipmentState.objects.get(equipment=eq)
    assert (state.state, state.reason) == ("down", reasons[1])
    assert "downtime.corrected" in EQUIPMENT_EVENTS  # the station's panel refreshes on it
    assert Event.objects.filter(kind="downtime.corrected", topic=f"wc:{eq.work_center_id}")
    panel = client.get(reverse("execution:station_equipment", args=[eq.work_center.code]),
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    since = panel.split('class="muted st-eq-since">')[1].split("</span>")[0]
    assert since.endswith("· Tool change"), since
    response = client.post(url, {"start": local(stop.start), "reason": reasons[1].pk,
                                 "planned": "on", "why": "planned tool change"})
    assert response.status_code == 302
    state.refresh_from_db()
    assert (state.state, state.reason) == ("maintenance", reasons[1])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_stop_going_on_has_no_end_in_the_list_nor_in_its_exports(client_as, reasons, fmt):
    """Its End is not "now": the list says it is still going on, the exports leave it empty;
    Planned reads yes/no in the reader's language, not True/False."""
    import csv
    import io

    from openpyxl import load_workbook

    client = client_as("operator")
    eq, (done,) = stops(1, reasons[0])
    DowntimeEvent.objects.create(equipment=eq, reason=reasons[1], planned=True,
                                 start=timezone.now() - datetime.timedelta(minutes=5))
    url = reverse("execution:downtime_list")
    page = client.get(url, {"ongoing": "true"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cells = page.split('data-testid="downtime-row"')[1].split("</tr>")[0].split("<td")
    assert "still going on" in cells[2] and str(timezone.localdate().year) not in cells[2]
    response = client.get(url, {"export": fmt}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    header, *body = rows
    end, planned = header.index("End"), header.index("Planned")
    by_reason = {row[header.index("Reason")]: row for row in body}
    assert by_reason["TOOL Tool change"][end] == ""
    assert by_reason["TOOL Tool change"][planned] == "yes"
    assert by_reason["BRK Breakdown"][end].startswith(
        timezone.localtime(done.end).strftime("%Y-%m-%d %H:%M"))
    assert by_reason["BRK Breakdown"][planned] == "no"
    if fmt == "csv":  # in the reader's language
        zh = client.get(url, {"export": fmt}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert ",是," in zh.content.decode("utf-8-sig") and "True" not in zh.content.decode()


def test_list_names_its_equipment_column_and_filters_like_every_other_list(client_as,
                                                                          reasons):
    """The lead read a column "Code" (zh-hans "编码") holding the equipment, beside filters
    labelled "equipment", "reason", "planned" in lower case next to "Station" and "Since"."""
    import re

    client = client_as("workshop_lead")
    stops(1, reasons[0])
    url = reverse("execution:downtime_list")
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    headers = [re.sub(r"<[^>]+>", "", h).strip()
               for h in re.findall(r"<th[^>]*>(.*?)</th>", html, re.S)]
    assert "Equipment" in headers and "Code" not in headers
    labels = [lab.strip() for lab in re.findall(r"<label[^>]*>([^<]*)", html)]
    assert {"Station", "Equipment", "Reason", "Planned", "Still going on"} <= set(labels)
    zh = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert ">设备<" in re.sub(r"\s*<a[^>]*>|</a>\s*", "", zh) and "编码" not in zh
