"""Test data for the hardening tests: one of every record a page can be opened on (the
permission matrix). Processes and HTTP helpers: tests/processes.py."""

import io

from django.core.files.base import ContentFile
from django.utils import timezone

from alerts.kinds import Channel, Kind
from alerts.models import Alert, Notification
from alerts.services.sweep import alerts_sweep
from execution.models import DowntimeEvent, MaterialConsumption
from mes.api.tokens import api_token_create
from mes.models import Event, WebhookDelivery
from mes.webhooks import webhook_subscription_create
from planning.models import ProductionOrder
from planning.services.schedule import schedule_request
from quality.models import Nonconformance
from tests.factories import UserFactory
from tests.factories_alerts import make_endpoint, make_rule, measure, minutes, schedule, stop
from tests.factories_planning_ui import EquipmentFactory, HolidayFactory, ShiftFactory
from tests.factories_quality import (
    DefectCodeFactory,
    accepted_order,
    measured_plan,
    pending_inspection,
)

ROLES = ("planner", "workshop_lead", "operator", "qc_inspector", "manager", "admin")


def security_world() -> dict:
    """One of everything, made through the services where they exist."""
    people = {role: UserFactory(roles=[role], username=f"w_{role}") for role in ROLES}
    op, qc, lead = people["operator"], people["qc_inspector"], people["workshop_lead"]
    plan = measured_plan(code="IP-SEC")
    defect = DefectCodeFactory(code="D-SEC")
    archive = accepted_order(plan, op, qc, lead)
    insp, wo, tasks, wc = pending_inspection(plan, op, qty="10")
    measure(insp, qc, "10.3", qty_failed="2", defect_code=defect)
    nc = Nonconformance.objects.get(inspection=insp)
    equipment = EquipmentFactory(work_center=wc)
    shift = ShiftFactory()
    holiday = HolidayFactory(calendar=shift.calendar)
    t0 = timezone.now()
    schedule(tasks[2], t0 - minutes(120), t0 - minutes(60))
    rule = make_rule(Kind.SCHEDULE_LAG, minutes=1, chain=[
        {"after_minutes": 0, "roles": ["workshop_lead"], "channels": [Channel.IN_APP]}])
    alerts_sweep(now=t0)
    alert = Alert.objects.order_by("pk").first()
    notification = Notification.objects.filter(channel=Channel.IN_APP).first()
    endpoint = make_endpoint("http://127.0.0.1:9/hook")
    token, _key = api_token_create(actor=None, user=people["admin"], name="matrix",
                                   scopes=["planning:read"])
    sub, _secret = webhook_subscription_create(actor=None, name="ERP", url="http://127.0.0.1:9/",
                                               kinds=["work_orders.released"])
    delivery = WebhookDelivery.objects.create(subscription=sub, event=Event.objects.first(),
                                              status=WebhookDelivery.Status.FAILED)
    schedule_request(actor=people["planner"], reason="matrix", time_limit=1)
    ProductionOrder.objects.filter(pk=wo.production_order_id).update(erp_ref="ERP-SEC-1")
    order = ProductionOrder.objects.get(pk=wo.production_order_id)
    downtime = stop(equipment, lead)
    result = archive.work_order.inspections.first().results.first()
    result.photo.save("matrix.png", ContentFile(png_bytes()), save=True)
    item = wo.item
    bom = item.bom_versions.first() if hasattr(item, "bom_versions") else None
    return {
        "people": people, "plan": plan, "defect": defect, "archive": archive,
        "inspection": insp, "nc": nc, "wo": wo, "order": order, "tasks": tasks, "wc": wc,
        "equipment": equipment, "shift": shift, "holiday": holiday, "alert": alert,
        "rule": rule, "notification": notification, "endpoint": endpoint, "token": token,
        "subscription": sub, "delivery": delivery, "item": item, "bom": bom,
        "downtime": DowntimeEvent.objects.get(equipment=downtime.equipment), "result": result,
        "consumption": MaterialConsumption.objects.first(),
    }


def png_bytes(size=(8, 8)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "PNG")
    return out.getvalue()


