"""Station actions: start, pause, resume, report, complete, equipment state, material issue.

Each POST carries a client token made in the browser for that submission; the services
ignore a token they have already recorded, so a double tap or a retry never counts twice.
Every refusal is shown at once and kept for the lead (ScanRefusal), and records nothing.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from execution import selectors
from execution.forms import (
    CompleteForm,
    EquipmentStateForm,
    MaterialIssueForm,
    ReportForm,
    TaskActionForm,
)
from execution.models import EquipmentStateChange, MaterialConsumption
from execution.services import reporting
from execution.services.equipment import equipment_set_state
from execution.services.materials import material_issue
from execution.views.terminal import StationView, Status
from mes.quantities import quantity_text
from mes.system_text import system_text
from planning.models import Equipment, Task, WorkCenter, WorkOrder

TASK_ACTIONS = {
    "start": (reporting.task_start, gettext_lazy("Started %(task)s.")),
    "pause": (reporting.task_pause, gettext_lazy("Paused %(task)s.")),
    "resume": (reporting.task_resume, gettext_lazy("Resumed %(task)s.")),
    "complete": (reporting.task_complete, gettext_lazy("Completed %(task)s.")),
}
_ALREADY = gettext_lazy("Already recorded: this submission had arrived before and was not "
                        "counted again.")


def _payload(post, *names) -> str:
    """What was sent, for the refusal log (never the token)."""
    return " ".join(f"{n}={post.get(n, '')}" for n in names if post.get(n, "") != "")[:300]


def _now_line(task_id=None, *, row=None) -> str:
    row = row if row is not None else selectors.station_task(task_id)
    if row is None:
        return ""
    return _("Now: good %(good)s · scrap %(scrap)s · remaining %(remaining)s of %(input)s.") % {
        "good": row.good_text, "scrap": row.scrap_text, "remaining": row.remaining_text,
        "input": row.input_text}


SHORT_REASON_MISSING = "short_reason_missing"


def _codes(exc: ValidationError) -> set:
    errors = (exc.error_list if not hasattr(exc, "error_dict")
              else [e for errs in exc.error_dict.values() for e in errs])
    return {e.code for e in errors}


class _TaskActionBase(StationView):
    http_method_names = ["post"]
    form_class = TaskActionForm
    action = ""
    payload_fields: tuple[str, ...] = ("task",)
    keep_values = False  # refusals show what was typed again, to be corrected
    # After success: the whole console, or (False) only what changed on a task that was
    # already the selected one (StationView.answer_changed_task).
    answer_console = True
    figures_only = False  # (answer_changed_task)
    # perform() takes a badge operator as its id, read by the service (operator_unread).
    operator_by_id = False

    def post(self, request, code, **kwargs):
        self.selected_before = self.station_session.task_id
        form = self.form_class(request.POST)
        values = request.POST if self.keep_values else None
        payload = _payload(request.POST, *self.payload_fields)
        try:
            if not form.is_valid():
                raise form.first_error()
            operator = (self.operator_unread() if self.operator_by_id
                        else self.require_operator())
            task = self.task(form.cleaned_data)
            status = self.perform(operator=operator, task=task, data=form.cleaned_data)
        except ValidationError as exc:
            fields = list(form.errors)[:1]  # the form's own refusal: its first field
            if SHORT_REASON_MISSING in _codes(exc):
                # Not a refusal to keep for the lead: the question whether to complete short
                # (the console asks for the reason: StationView.console_context).
                self.ask_short = True
                return self.refused(exc, action=self.action, payload=payload, values=values,
                                    log=False)
            return self.refused(exc, action=self.action, payload=payload, values=values,
                                fields=fields)
        if self.answer_console:
            return self.answer(status)
        return self.answer_changed_task(status, figures_only=self.figures_only)

    def task(self, data) -> Task | None:
        if "task" not in data:
            return None
        task = Task.objects.select_related("work_order").filter(pk=data["task"]).first()
        if task is None:
            raise reporting.refuse(system_text("Unknown task; scan its traveler code again."),
                                   "unknown_task")
        return task

    def perform(self, *, operator, task, data) -> Status:
        raise NotImplementedError


class TaskActionView(_TaskActionBase):
    """Start, pause, resume or complete the selected task."""

    answer_console = False  # its panel changes (completing selects none: the console)

    def post(self, request, code, action):
        if action not in TASK_ACTIONS:
            raise Http404
        self.action = action
        if action == "complete":
            self.form_class = CompleteForm
            self.payload_fields = ("task", "short_reason")
        return super().post(request, code)

    def perform(self, *, operator, task, data) -> Status:
        service, done_text = TASK_ACTIONS[self.action]
        extra = {"short_reason": data["short_reason"]} if self.action == "complete" else {}
        result = service(operator=operator, task=task, work_center=self.work_center,
                         client_token=data["client_token"], **extra)
        self.station_session.select_task(task.pk)
        if not result.created:
            return Status(True, str(_ALREADY))
        lines = []
        if self.action == "complete":
            if result.short > 0:
                lines.append(_("%(short)s completed short: %(reason)s.") % {
                    "short": quantity_text(result.short), "reason": data["short_reason"]})
            wo_status = WorkOrder.objects.filter(pk=task.work_order_id).values_list(
                "status", flat=True).first()
            if wo_status == WorkOrder.Status.AWAITING_ACCEPTANCE:
                lines.append(_("Work order %(wo)s finished its last step: it now awaits "
                               "acceptance.") % {"wo": task.work_order})
            lines.append(_("Scan the next task."))
            self.station_session.select_task(None)
        else:
            lines.append(_now_line(task.pk))
        return Status(True, str(done_text) % {"task": result.task}, lines)


class ReportView(_TaskActionBase):
    """Report good and scrap (with its reason) on the selected task."""

    form_class = ReportForm
    action = "report"
    keep_values = True
    payload_fields = ("task", "good", "scrap", "scrap_reason")
    answer_console = False
    operator_by_id = True  # the badge operator is read with the task

    # The answer shows the task as it is after the report: the page need not fetch its task
    # panel again when this report comes back on the live stream (static/mes/station.js).
    ANSWERED_HEADER = "MES-Answered-Report"
    answered_report = None

    def post(self, request, code, **kwargs):
        response = super().post(request, code, **kwargs)
        if response.status_code == 200 and self.answered_report is not None:
            response[self.ANSWERED_HEADER] = str(self.answered_report)
        return response

    def task(self, data) -> int:
        return data["task"]  # the service locks (and refuses an unknown id); no read before

    def perform(self, *, operator, task, data) -> Status:
        reason = selectors.scrap_reason(data.get("scrap_reason"))
        try:
            # The station by its code: the service finds it with the task (no query of its own)
            result = reporting.task_report_quantity(
                operator=operator, task=task, station_code=self.kwargs["code"],
                client_token=data["client_token"], good=data.get("good") or 0,
                scrap=data.get("scrap") or 0, scrap_reason=reason)
        except WorkCenter.DoesNotExist:
            raise self.no_station() from None
        except reporting.OperatorNotActive:
            # Deactivated since the badge scan (nothing recorded): whoever the station falls
            # back on, as for every other action, or "Scan your badge first".
            return self.perform(operator=self.require_operator(), task=task, data=data)
        if isinstance(operator, reporting.OperatorById):
            self.operator_read(result.operator)
        self.__dict__["work_center"] = result.work_center
        report = result.report
        self.station_session.select_task(report.task_id)
        if not result.created:
            return Status(True, str(_ALREADY), [_now_line(report.task_id)])
        task = report.task  # the locked row, current after the report
        self.answered_report = report.pk
        self.selected_row = selectors.dispatch_row(task)
        # Only the quantities moved: the task's status is as it was, and it had been reported
        # on before (its Complete button was there already).
        self.figures_only = (task.status == result.status_before
                             and task.qty_good + task.qty_scrap > report.good + report.scrap)
        # A report on a task not running starts or resumes it: the operator is told, since a
        # paused task (waiting for material, say) now counts run time again.
        if result.resumed_task:
            title = _("Resumed and reported on %(task)s: good %(good)s, scrap %(scrap)s.")
        elif result.started_task:
            title = _("Started and reported on %(task)s: good %(good)s, scrap %(scrap)s.")
        else:
            title = _("Reported on %(task)s: good %(good)s, scrap %(scrap)s.")
        title = title % {"task": task, "good": quantity_text(report.good),
                         "scrap": quantity_text(report.scrap)}
        lines = []
        if report.scrap > 0 and reason is not None:
            lines.append(_("Scrap reason: %(reason)s.") % {"reason": reason})
        lines.append(_now_line(row=self.selected_row))
        if result.task_completed:
            lines.append(_("Nothing remains: the task completed itself. Scan the next task."))
            self.station_session.select_task(None)
        return Status(True, title, lines)


class MaterialIssueView(_TaskActionBase):
    """Issue a component lot to the selected task's work order."""

    form_class = MaterialIssueForm
    action = "material"
    keep_values = True
    payload_fields = ("task", "item_code", "lot_code", "quantity")

    def perform(self, *, operator, task, data) -> Status:
        token = data["client_token"]
        seen = bool(token) and MaterialConsumption.objects.filter(client_token=token).exists()
        consumption = material_issue(
            operator=operator, task=task, work_center=self.work_center,
            item_code=data["item_code"], lot_code=data["lot_code"],
            quantity=data.get("quantity") or "", client_token=token)
        self.station_session.select_task(task.pk)
        if seen:
            return Status(True, str(_ALREADY))
        return Status(True, _("Issued lot %(lot)s: %(qty)s × %(item)s to %(wo)s.") % {
            "lot": consumption.lot_code, "qty": quantity_text(consumption.quantity),
            "item": consumption.item.code, "wo": task.work_order})


class EquipmentStateView(_TaskActionBase):
    """Set one of the station's machines running, idle, in setup, down (why) or in
    maintenance."""

    form_class = EquipmentStateForm
    action = "equipment"
    payload_fields = ("equipment", "state", "reason")

    def answer(self, status, **kwargs):
        kwargs["equipment"] = True  # the panel shows the new state (or the unchanged one)
        return super().answer(status, **kwargs)

    def perform(self, *, operator, task, data) -> Status:
        equipment = Equipment.objects.filter(pk=data["equipment"], active=True,
                                             work_center=self.work_center).first()
        if equipment is None:
            raise reporting.refuse(system_text("That equipment is not at this station."),
                                   "wrong_equipment")
        token = reporting.check_client_token(data["client_token"])  # the service would accept none
        seen = EquipmentStateChange.objects.filter(
            client_token=token).exists()
        state = equipment_set_state(actor=operator, equipment=equipment, state=data["state"],
                                    reason=data.get("reason"), client_token=token)
        if seen:
            return Status(True, str(_ALREADY))
        text = _("%(eq)s: %(state)s since %(at)s.") % {
            "eq": equipment.code, "state": state.get_state_display(),
            "at": state.since_text}
        lines = [_("Reason: %(reason)s.") % {"reason": state.reason}] if state.reason else []
        return Status(True, text, lines)
