"""The station list and a station's terminal page, its live partials and the scan field."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View

from execution import selectors
from execution.forms import ScanForm
from execution.views.terminal import DISPATCH_TRIGGER, StationView, Status
from mes.generic import CapabilityRequiredMixin
from mes.roles import perm
from mes.system_text import system_text


class StationListView(CapabilityRequiredMixin, View):
    """Every active station, by workshop and line, with what is running and waiting."""

    capability = "view_execution"

    def get(self, request):
        return render(request, "execution/station_list.html", {
            "title": _("Stations"),
            "groups": selectors.stations_grouped(),
            "can_report": request.user.has_perm(perm("report_work")),
        })


class StationPageView(StationView):
    http_method_names = ["get"]

    def get(self, request, code):
        return render(request, "execution/station.html", self.page_context())


class DispatchPartialView(StationView):
    """The dispatch list alone: what the page re-fetches when a live event arrives."""

    http_method_names = ["get"]

    def get(self, request, code):
        return render(request, "execution/_dispatch_list.html", {
            "wc": self.work_center, "urls": self.urls(),
            "dispatch": selectors.dispatch_list(self.work_center,
                                                selected_id=self.station_session.task_id),
            "dispatch_trigger": DISPATCH_TRIGGER,
        })


class TaskPanelPartialView(StationView):
    """The selected task's figures and buttons, re-fetched on live events, with the report
    form's "all remaining" button (out of band): it offers what remains now."""

    http_method_names = ["get"]

    def get(self, request, code):
        return render(request, "execution/_task_panel_live.html", self.console_context())


class EquipmentPanelView(StationView):
    http_method_names = ["get"]

    def get(self, request, code):
        return render(request, "execution/_equipment.html", self.equipment_context())


class ScanView(StationView):
    """One field for everything: a badge identifies the operator, a traveler code (task or
    work order) or a typed work-order number selects the task."""

    http_method_names = ["post"]

    def post(self, request, code):
        form = ScanForm(request.POST)
        if not form.is_valid():  # too long, or characters no scanner sends (NUL)
            errors = form.errors.as_data()["code"]
            too_long = "max_length" in {e.code for e in errors}
            refusal = (ValidationError(system_text("The scanned code is too long."))
                       if too_long else errors[0])
            return self.refused(refusal, action="scan",
                                payload=request.POST.get("code", "")[:300])
        raw = form.cleaned_data["code"]
        try:
            outcome = selectors.station_scan_resolve(raw, self.work_center, self.operator)
        except ValidationError as exc:
            # An empty Enter is no scan: say so, but do not bother the lead with it.
            return self.refused(exc, action="scan", payload=raw, log=exc.code != "empty")
        if outcome.kind == "operator":
            return self._operator(outcome.operator)
        task = outcome.task
        self.station_session.select_task(task.pk)
        row = selectors.station_task(task.pk)
        lines = [_("%(item)s · input %(input)s · good %(good)s · scrap %(scrap)s · remaining "
                   "%(remaining)s") % {"item": task.work_order.item.code,
                                       "input": row.input_text, "good": row.good_text,
                                       "scrap": row.scrap_text, "remaining": row.remaining_text}]
        if outcome.via == "work_order":
            lines.append(_("Work order %(wo)s: its step %(seq)s is worked at this station.")
                         % {"wo": task.work_order, "seq": task.seq})
        if self.operator is None:
            lines.append(_("Now scan your badge."))
        return self.answer(Status(True, _("Task %(task)s selected.") % {"task": task}, lines))

    def _operator(self, user):
        previous = self.operator if self.operator_and_source[1] == "badge" else None
        self.station_session.set_operator(user)
        self.forget_operator()
        if previous is not None and previous.pk != user.pk:
            title = _("Operator switched from %(old)s to %(new)s.") % {"old": previous,
                                                                       "new": user}
        else:
            title = _("Hello %(name)s: you are signed in at %(wc)s.") % {
                "name": user, "wc": self.work_center.code}
        lines = [] if self.station_session.task_id else [_("Now scan a task's traveler code.")]
        return self.answer(Status(True, title, lines))


class OperatorClearView(StationView):
    """Switch operator: forget the badge; the next badge scan identifies the next person."""

    http_method_names = ["post"]

    def post(self, request, code):
        self.station_session.clear_operator()
        self.forget_operator()
        lines = [_("Scan the next operator's badge.")]
        if self.operator is not None:
            lines.append(_("Until then, work is recorded as %(name)s (the signed-in account).")
                         % {"name": self.operator})
        return self.answer(Status(True, _("Operator signed off."), lines))

