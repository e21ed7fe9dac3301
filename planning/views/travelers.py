"""Travelers (工单流转卡): printable sheets with QR codes, and resolving a scanned code."""

from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from mes.generic import CapabilityRequiredMixin
from mes.roles import perm
from planning import travelers
from planning.models import ProductionOrder, WorkOrder

# The sheets go to planners and to the shop floor (leads, operators reprinting a torn one).
TRAVELER_CAPABILITIES = ("view_planning", "view_execution")


class AnyCapabilityRequiredMixin(CapabilityRequiredMixin):
    """Refuse (403) unless the user has at least one of `capabilities`."""

    capabilities: tuple[str, ...] = ()

    def has_permission(self):
        user = self.request.user
        return any(user.has_perm(perm(c)) for c in self.capabilities)


class TravelerView(AnyCapabilityRequiredMixin, View):
    capabilities = TRAVELER_CAPABILITIES

    def get(self, request, pk):
        try:
            traveler = travelers.traveler_for_work_order(pk)
        except WorkOrder.DoesNotExist:
            raise Http404(_("No such work order.")) from None
        return render(request, "planning/traveler.html", {
            "title": _("Traveler %(number)s") % {"number": traveler.work_order.number},
            "travelers": [traveler],
            "printed_at": timezone.now(),
        })


class TravelerBatchView(AnyCapabilityRequiredMixin, View):
    capabilities = TRAVELER_CAPABILITIES

    def get(self, request, pk):
        try:
            order, sheets = travelers.travelers_for_production_order(pk)
        except ProductionOrder.DoesNotExist:
            raise Http404(_("No such production order.")) from None
        return render(request, "planning/traveler_batch.html", {
            "title": _("Travelers of %(number)s") % {"number": order.number},
            "order": order,
            "travelers": sheets,
            "printed_at": timezone.now(),
        })


def _wants_json(request) -> bool:
    return (request.GET.get("format") == "json"
            or request.headers.get("Accept", "").startswith("application/json"))


def _target_json(target: travelers.ScanTarget, payload: str) -> dict:
    wo = target.work_order
    data = {
        "ok": True,
        "kind": target.kind,
        "payload": payload,
        "work_order": {
            "id": wo.pk, "number": wo.number, "status": wo.status,
            "production_order": wo.production_order.number, "item": wo.item.code,
            "traveler_url": reverse("planning:traveler", args=[wo.pk]),
        },
        "task": None,
    }
    if target.task is not None:
        task = target.task
        data["task"] = {"id": task.pk, "seq": task.seq, "name": task.name,
                        "work_center": task.work_center.code, "status": task.status}
    return data


# A code that does not resolve is the caller's mistake (400), or unknown to us (404).
_ERROR_STATUS = {"empty": 400, "malformed": 400, "wrong_kind": 400, "unknown": 404}


class ScanResolveView(AnyCapabilityRequiredMixin, View):
    """`?payload=<scanned text>`: which task or work order is it? HTML, or JSON with
    `?format=json` / `Accept: application/json`. A keyboard-wedge scanner types into the
    page's field and presses Enter, which submits the form."""

    capabilities = TRAVELER_CAPABILITIES

    def get(self, request):
        raw = request.GET.get("payload", "")
        as_json = _wants_json(request)
        if not raw.strip() and not as_json:
            return render(request, "planning/scan_resolve.html",
                          {"title": _("Scan a traveler code"), "payload": ""})
        try:
            target = travelers.scan_resolve(raw)
        except ValidationError as exc:
            status = _ERROR_STATUS.get(exc.code, 400)
            if as_json:
                return JsonResponse({"ok": False, "code": exc.code, "error": exc.messages[0]},
                                    status=status)
            return render(request, "planning/scan_resolve.html", {
                "title": _("Scan a traveler code"), "payload": raw.strip(),
                "error": exc.messages[0]}, status=status)
        payload = travelers.normalize_scan(raw)
        if as_json:
            return JsonResponse(_target_json(target, payload))
        return render(request, "planning/scan_resolve.html", {
            "title": _("Scan a traveler code"), "payload": payload, "target": target})
