"""Alert lifecycle: acknowledge, resolve (cause + action), close, comment, reassign; escalation
on time up the chain; audit entries and live events; one open alert per rule and subject."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from alerts.kinds import Channel, Kind
from alerts.models import Alert, Notification
from alerts.rules import EVALUATORS
from alerts.services.lifecycle import (
    alert_acknowledge,
    alert_close,
    alert_comment,
    alert_escalate,
    alert_reassign,
    alert_resolve,
)
from alerts.services.raising import alert_raise, alerts_raise, rule_evaluate
from alerts.services.sweep import alerts_sweep
from mes.audit import audit_entries_for
from mes.models import AuditEntry, Event
from planning.models import WorkCenter, WorkOrder
from tests.factories import WorkCenterFactory
from tests.factories_alerts import (
    english_fixture,  # noqa: F401
    make_rule,
    minutes,
    now,
    schedule,
)
from tests.factories_execution import released_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

CHAIN = [
    {"after_minutes": 0, "notify_responsible": True, "channels": [Channel.IN_APP]},
    {"after_minutes": 60, "roles": ["workshop_lead"], "channels": [Channel.IN_APP]},
    {"after_minutes": 240, "roles": ["manager"], "channels": [Channel.IN_APP]},
]


@pytest.fixture
def plant(make_user):
    """A late task on a work center with a lead; a workshop lead for that workshop and one
    for another workshop; a manager; the work order's responsible planner."""
    lead = make_user("workshop_lead", username="wc_lead")
    wc = WorkCenterFactory(lead=lead)
    ws_lead = make_user("workshop_lead", username="ws_lead")
    WorkCenterFactory(line=wc.line, lead=ws_lead)
    elsewhere = make_user("workshop_lead", username="other_ws_lead")
    WorkCenterFactory(lead=elsewhere)
    manager = make_user("manager", username="boss")
    owner = make_user("planner", username="owner")
    wo, tasks, _ = released_order(steps=2, work_center=wc)
    WorkOrder.objects.filter(pk=wo.pk).update(responsible=owner)
    t0 = now()
    schedule(tasks[0], t0 - minutes(60), t0 + minutes(60))
    rule = make_rule(Kind.SCHEDULE_LAG, minutes=30, chain=CHAIN)
    return {"wc": wc, "lead": lead, "ws_lead": ws_lead, "elsewhere": elsewhere,
            "manager": manager, "owner": owner, "task": tasks[0], "rule": rule, "t0": t0}


def notified(alert, level):
    return set(Notification.objects.filter(alert=alert, level=level)
               .values_list("recipient__username", flat=True))


def test_escalation_on_time_climbs_the_chain(plant):
    t0 = plant["t0"]
    alerts_sweep(now=t0)
    alert = Alert.objects.get()
    assert alert.escalation_level == 1 and alert.assignee == plant["owner"]
    assert notified(alert, 1) == {"wc_lead", "owner"}
    assert alert.next_escalation_at == t0 + minutes(60)
    alerts_sweep(now=t0 + minutes(59))
    alert.refresh_from_db()
    assert alert.escalation_level == 1
    alerts_sweep(now=t0 + minutes(61))
    alert.refresh_from_db()
    assert alert.escalation_level == 2
    # the workshop's own leads, not the lead of another workshop
    assert notified(alert, 2) == {"wc_lead", "ws_lead"}
    alerts_sweep(now=t0 + minutes(241))
    alert.refresh_from_db()
    assert alert.escalation_level == 3 and alert.next_escalation_at is None
    assert notified(alert, 3) == {"boss"}
    alerts_sweep(now=t0 + minutes(600))  # end of the chain: nobody hears twice
    assert Notification.objects.filter(alert=alert).count() == 2 + 2 + 1
    assert Event.objects.filter(kind="alert.escalated").count() == 2 * 2  # plant + wc, twice
    user_topics = set(Event.objects.filter(kind="notification.new")
                      .values_list("topic", flat=True))
    assert user_topics == {f"user:{u.pk}" for u in (plant["lead"], plant["owner"],
                                                     plant["ws_lead"], plant["manager"])}


def test_acknowledged_alert_stops_escalating(plant):
    t0 = plant["t0"]
    alerts_sweep(now=t0)
    alert = Alert.objects.get()
    alert_acknowledge(actor=plant["lead"], alert=alert, now=t0 + minutes(20))
    alerts_sweep(now=t0 + minutes(300))
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and alert.status == "acknowledged"
    assert (alert.acknowledged_at - alert.raised_at) == minutes(20)  # the response KPI


def test_a_sweep_after_an_outage_notifies_every_due_level(plant):
    alerts_sweep(now=plant["t0"])
    alerts_sweep(now=plant["t0"] + minutes(300))
    alert = Alert.objects.get()
    assert alert.escalation_level == 3
    assert notified(alert, 2) == {"wc_lead", "ws_lead"} and notified(alert, 3) == {"boss"}


def test_lifecycle_validation_audit_and_events(plant):
    alerts_sweep(now=plant["t0"])
    alert = Alert.objects.get()
    lead = plant["lead"]
    with pytest.raises(ValidationError) as err:
        alert_resolve(actor=lead, alert=alert, cause="  ", action="")
    assert set(err.value.message_dict) == {"cause", "action"}
    with pytest.raises(ValidationError, match="cannot be closed"):
        alert_close(actor=lead, alert=alert)
    alert_acknowledge(actor=lead, alert=alert, note="on my way")
    with pytest.raises(ValidationError, match="cannot be acknowledged"):
        alert_acknowledge(actor=lead, alert=alert)
    alert_comment(actor=lead, alert=alert, text="material was missing")
    with pytest.raises(ValidationError):
        alert_comment(actor=lead, alert=alert, text="")
    alert_resolve(actor=lead, alert=alert, cause="Material shortage",
                  action="Material delivered from store 2")
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_by == lead
    assert alert.resolved_at >= alert.acknowledged_at >= alert.raised_at
    alert_close(actor=plant["manager"], alert=alert, note="checked")
    alert.refresh_from_db()
    assert alert.status == "closed" and alert.closed_by == plant["manager"]
    entries = list(audit_entries_for(alert))[::-1]
    assert [e.action for e in entries] == ["create", "transition", "transition", "transition"]
    ack = entries[1]
    assert ack.before["status"] == "open" and ack.after["status"] == "acknowledged"
    assert ack.reason == "on my way" and ack.actor == lead
    assert entries[2].reason == "Material shortage"
    kinds = list(Event.objects.filter(topic="plant", kind__startswith="alert.")
                 .values_list("kind", flat=True))
    assert kinds == ["alert.raised", "alert.acknowledged", "alert.commented", "alert.resolved",
                     "alert.closed"]
    assert Event.objects.filter(topic=f"wc:{plant['wc'].pk}", kind="alert.resolved").exists()


def test_resolve_without_acknowledging_counts_as_acknowledged(plant):
    alerts_sweep(now=plant["t0"])
    alert = alert_resolve(actor=plant["lead"], alert=Alert.objects.get(), cause="c",
                          action="a", now=plant["t0"] + minutes(30))
    assert alert.acknowledged_at == alert.resolved_at and alert.acknowledged_by == plant["lead"]
    # the condition still holds: resolved by a person, it is not raised again
    alerts_sweep(now=plant["t0"] + minutes(31))
    assert Alert.objects.count() == 1


def test_reassign_notifies_the_new_assignee(plant):
    alerts_sweep(now=plant["t0"])
    alert = Alert.objects.get()
    with pytest.raises(ValidationError, match="already has it"):
        alert_reassign(actor=plant["lead"], alert=alert, assignee=plant["owner"])
    alert_reassign(actor=plant["lead"], alert=alert, assignee=plant["ws_lead"], reason="shift")
    alert.refresh_from_db()
    assert alert.assignee == plant["ws_lead"]
    n = Notification.objects.get(alert=alert, level=0, channel="in_app")
    assert n.recipient == plant["ws_lead"]
    assert Event.objects.filter(topic=f"user:{plant['ws_lead'].pk}",
                                kind="notification.new").exists()


def test_escalate_by_hand(plant):
    alerts_sweep(now=plant["t0"])
    alert = Alert.objects.get()
    alert_escalate(actor=plant["lead"], alert=alert, reason="needs the workshop")
    with translation.override("en"):  # escalated by someone reading English
        alert_escalate(actor=plant["lead"], alert=alert)
    with pytest.raises(ValidationError, match="last level"):
        alert_escalate(actor=plant["lead"], alert=alert)
    assert notified(alert, 3) == {"boss"}
    # Its default reason reads in each reader's language (a Chinese lead saw it in English).
    entry = AuditEntry.objects.filter(object_id=str(alert.pk),
                                      content_type__model="alert").order_by("-pk").first()
    with translation.override("zh-hans"):
        assert entry.reason_shown == "手动升级"
    with translation.override("en"):
        assert entry.reason_shown == "escalated by hand"


def test_one_open_alert_per_rule_and_subject_is_enforced(plant):
    alerts_sweep(now=plant["t0"])
    rule, alert = plant["rule"], Alert.objects.get()
    found = EVALUATORS[rule.kind].candidates(rule, plant["t0"])
    # another process raising the same alert in between: skipped, not an error
    assert alerts_raise(rule=rule, candidates=found, now=plant["t0"]) == []
    assert alert_raise(rule=rule, candidate=found[0]) is None
    assert Alert.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(rule=rule, kind=rule.kind, severity="warning",
                             content_type=alert.content_type, object_id=alert.object_id,
                             subject_repr="dup", message="dup")


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_raise_one_alert(make_user):
    lead = make_user("workshop_lead")
    wc = WorkCenterFactory(lead=lead)
    _wo, tasks, _ = released_order(steps=1, work_center=wc)
    t0 = now()
    schedule(tasks[0], t0 - minutes(60), t0)
    rule = make_rule(Kind.SCHEDULE_LAG, minutes=30)
    barrier, errors = threading.Barrier(4), []

    def sweep():
        try:
            barrier.wait(5)
            rule_evaluate(rule_id=rule.pk, now=t0)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert Alert.objects.filter(rule=rule).count() == 1
    assert Notification.objects.filter(recipient=lead).count() == 1
    assert WorkCenter.objects.count() >= 1
