"""What every station-terminal view shares: the station session (who is working, which task
is selected), the status line, refusals, and rendering the console.

A station session lives in the Django session of the tablet's browser, one entry per station:
the operator identified by badge (for OPERATOR_HOURS) and the selected task. Actions are
attributed to that operator; without a badge, to the signed-in account when it has a badge.
"""

import time
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View

from execution import selectors
from execution.services.refusals import refusal_reason
from execution.services.reporting import OperatorById, refuse, scan_refusal_log
from mes.generic import CapabilityRequiredMixin
from mes.models import User
from mes.system_text import system_text
from planning.models import WorkCenter

OPERATOR_HOURS = 12  # a badge scan lasts one long shift, then the next person scans again
REFUSED = 422


# Live events (topic wc:<id>) that change what the dispatch list and the task panel show.
# (task.upstream_changed: the previous step, at another station, passed units on, completed,
# or had units accepted or rejected by QC.)
TASK_EVENTS = ("task.start", "task.pause", "task.resume", "task.reported", "task.completed",
               "task.upstream_changed", "work_order.hold", "work_order.resume",
               "work_order.cancel", "work_order.rejected")
# Alert kinds refresh the list's alert badges (emitted by the alerts app on the same topic).
ALERT_EVENTS = ("alert.raised", "alert.recurred", "alert.resolved", "alert.cleared",
                "alert.closed")
DISPATCH_EVENTS = ("tasks.released", "rework.created", "schedule.changed", *TASK_EVENTS,
                   *ALERT_EVENTS)
# (A lead's correction of a stop still going on changes the state's reason or since.)
EQUIPMENT_EVENTS = ("equipment.state", "downtime.started", "downtime.ended",
                    "downtime.corrected")


def _clock() -> float:
    return time.time()


def sse_trigger(events, *extra, delay_ms: int = 0) -> str:
    """An hx-trigger for these live events (and `extra` triggers). With `delay_ms`, triggers
    that come within that time of each other cause one request (htmx keeps one delay timer
    per element), after the last of them."""
    specs = [f"sse:{e}" for e in events] + list(extra)
    return ", ".join(f"{s} delay:{delay_ms}ms" if delay_ms else s for s in specs)


# The dispatch list: refreshed on live events and after this station's own actions
# (station-changed). An action of this station causes both, a few milliseconds apart, in either
# order (its answer, and its event coming back on the stream): one refresh, not two.
DISPATCH_TRIGGER = sse_trigger(DISPATCH_EVENTS, "station-changed from:body", delay_ms=300)


@dataclass
class Status:
    """The result line at the top of the console: green with what changed, or red with why."""

    ok: bool
    title: str
    lines: list[str] = field(default_factory=list)


# Refusals of what was typed that name no field, and the field to correct.
CODE_FIELDS = {"nothing_to_report": "good", "too_many": "good"}


def error_fields(exc: ValidationError) -> list[str]:
    """The fields a refusal is about: the page puts the focus on the first, to be corrected."""
    if hasattr(exc, "error_dict"):
        return [name for name in exc.error_dict if name != NON_FIELD_ERRORS]
    return [CODE_FIELDS[e.code] for e in exc.error_list if e.code in CODE_FIELDS][:1]


def figures_answer_html(status: Status, selected: selectors.DispatchRow) -> str:
    """What execution/_task_answer.html renders for an answer that changed only the task's
    figures (status line, quantities and the "all remaining" button, each out of band), written
    out here: it is the answer to most reports, and the template engine took about a tenth of
    such a request's whole cost to render these few lines. tests/test_station.py checks that
    both give the same HTML (whitespace aside)."""
    ok = status.ok
    lines = "".join(f'<p class="st-status-line">{conditional_escape(line)}</p>'
                    for line in status.lines if line)
    remaining = escape(selected.remaining_text)
    fill = (f'<button type="button" class="st-btn" data-fill-good="{remaining}">'
            f'{_("All remaining: %(n)s") % {"n": remaining}}</button>'
            if selected.remaining > 0 else "")
    # Every value is escaped, as the templates escape it ({% blocktranslate %} leaves its own
    # text as the catalogue has it, and so does this).
    return mark_safe(  # noqa: S308
        f'<div id="station-status" hx-swap-oob="true" class="st-status flash '
        f'{"st-status-ok" if ok else "st-status-bad"}" role="{"status" if ok else "alert"}" '
        f'aria-live="assertive" data-testid="station-status" data-ok="{"1" if ok else "0"}">'
        f'<p class="st-status-title"><span class="st-status-icon" aria-hidden="true">'
        f'{"✔" if ok else "✖"}</span> {conditional_escape(status.title)}</p>{lines}</div>'
        f'<dl id="task-qty" hx-swap-oob="true" class="st-qty">'
        f'<div><dt>{escape(_("Input"))}</dt><dd>{escape(selected.input_text)}</dd></div>'
        f'<div class="qty-good"><dt>{escape(_("Good"))}</dt>'
        f'<dd data-testid="task-good">{escape(selected.good_text)}</dd></div>'
        f'<div class="qty-scrap"><dt>{escape(_("Scrap"))}</dt>'
        f'<dd data-testid="task-scrap">{escape(selected.scrap_text)}</dd></div>'
        f'<div class="qty-remaining"><dt>{escape(_("Remaining"))}</dt>'
        f'<dd data-testid="task-remaining">{remaining}</dd></div></dl>'
        f'<span id="report-fill" hx-swap-oob="true">{fill}</span>')


class StationSession:
    """The station's entry in the Django session, by the station's code (a report finds its
    station with the task: it need not look the station up to read this)."""

    def __init__(self, request, code: str):
        self.request = request
        self.key = f"station:{code}"

    @property
    def data(self) -> dict:
        return self.request.session.get(self.key) or {}

    def _save(self, **changes) -> None:
        current = self.data
        data = {k: v for k, v in {**current, **changes}.items() if v is not None}
        if data != current:  # an unchanged session is not written back (one UPDATE less)
            self.request.session[self.key] = data

    def set_operator(self, user: User) -> None:
        self._save(operator=user.pk, operator_at=_clock())

    def clear_operator(self) -> None:
        data = self.data
        data.pop("operator", None)
        data.pop("operator_at", None)
        self.request.session[self.key] = data

    def badge_operator_id(self) -> int | None:
        data = self.data
        fresh = _clock() - data.get("operator_at", 0) < OPERATOR_HOURS * 3600
        return data.get("operator") if fresh else None

    @property
    def task_id(self) -> int | None:
        return self.data.get("task")

    def select_task(self, task_id: int | None) -> None:
        if task_id is None:
            data = self.data
            if "task" in data:
                data.pop("task")
                self.request.session[self.key] = data
        else:
            self._save(task=task_id)


class StationUrls(dict):
    """The station's action URLs by name (`urls.station_report`, `urls.task_start` in
    templates), each looked up the first time a template asks for it: an answer renders only
    a few of them. Reversing a URL costs more than rendering most of a panel, and a station's
    URLs never change while the process runs: they are reversed once per process."""

    NAMES = frozenset({"station", "station_dispatch", "station_task_panel", "station_equipment",
                       "station_scan", "station_operator_clear", "station_report",
                       "station_equipment_state", "station_material"})
    TASK_ACTIONS = frozenset({"start", "pause", "resume", "complete"})

    def __init__(self, code: str):
        super().__init__()
        self.code = code

    def __missing__(self, name):
        if name in self.NAMES:
            url = _station_url(get_script_prefix(), f"execution:{name}", (self.code,))
        elif name.startswith("task_") and name[5:] in self.TASK_ACTIONS:
            url = _station_url(get_script_prefix(), "execution:station_task_action",
                               (self.code, name[5:]))
        else:
            raise KeyError(name)
        self[name] = url
        return url


@lru_cache(maxsize=4096)
def _station_url(_prefix: str, name: str, args: tuple) -> str:
    return reverse(name, args=args)  # (the script prefix is part of the cache key)


def _user_itself(user):
    """The signed-in user itself, not the lazy stand-in Django puts on the request: the
    services read the operator's fields and attach it to the rows they write, and each access
    through the stand-in costs a few calls (a scan report makes dozens)."""
    user.pk  # noqa: B018 (reads the user, if this request has not yet)
    return getattr(user, "_wrapped", user)


class StationView(CapabilityRequiredMixin, View):
    """A page or action of one station's terminal (URL by work-center code)."""

    capability = "report_work"

    @cached_property
    def work_center(self) -> WorkCenter:
        try:
            return selectors.station_by_code(self.kwargs["code"])
        except WorkCenter.DoesNotExist:
            raise self.no_station() from None

    def no_station(self) -> Http404:
        return Http404(_("No active station has the code “%(code)s”.")
                       % {"code": self.kwargs["code"][:40]})

    @cached_property
    def station_session(self) -> StationSession:
        return StationSession(self.request, self.kwargs["code"])

    @cached_property
    def operator_and_source(self) -> tuple[User | None, str]:
        """(operator, "badge" | "login" | "") — who the station's actions are attributed to."""
        op_id = self.station_session.badge_operator_id()
        signed_in = _user_itself(self.request.user)
        if op_id is not None:
            if op_id == signed_in.pk and signed_in.is_active:
                return signed_in, "badge"  # scanned their own badge: already read this request
            user = selectors.active_user(op_id)
            if user is not None:
                return user, "badge"
        if signed_in.badge_code:
            return signed_in, "login"
        return None, ""

    @property
    def operator(self) -> User | None:
        return self.operator_and_source[0]

    def forget_operator(self) -> None:
        self.__dict__.pop("operator_and_source", None)

    def require_operator(self) -> User:
        if self.operator is None:
            raise refuse(system_text("Scan your badge first."), "no_badge")
        return self.operator

    def operator_unread(self) -> User | OperatorById:
        """Who the action is attributed to, as `require_operator`, but a badge operator other
        than the signed-in user as its id, not read: the scan report reads it with its task
        (one statement fewer). Its caller falls back on `require_operator` when that user is
        no longer active."""
        if "operator_and_source" not in self.__dict__:
            op_id = self.station_session.badge_operator_id()
            if op_id is not None and op_id != _user_itself(self.request.user).pk:
                return OperatorById(op_id)
        return self.require_operator()

    def operator_read(self, user: User) -> None:
        """The badge operator an action read by id (operator_unread): the answer shows it
        without reading it again."""
        self.__dict__["operator_and_source"] = (user, "badge")

    # --- rendering ----------------------------------------------------------------------------
    @cached_property
    def _urls(self) -> "StationUrls":
        return StationUrls(self.work_center.code)

    def urls(self) -> "StationUrls":
        return self._urls

    # The selected task's row when the action already has it fresh (saves the query).
    selected_row: selectors.DispatchRow | None = None
    # The task selected when the request came (actions set it).
    selected_before: int | None = None
    # The console asks for the reason to complete the selected task short (actions set it).
    ask_short = False

    def selected(self) -> selectors.DispatchRow | None:
        """The station's selected task (None when it is not this station's)."""
        task_id = self.station_session.task_id
        if self.selected_row is not None and self.selected_row.task.pk == task_id:
            selected = self.selected_row
        else:
            selected = selectors.station_task(task_id)
        if selected is not None and selected.task.work_center_id != self.work_center.pk:
            selected = None
        return selected

    def task_panel_context(self, selected: selectors.DispatchRow | None) -> dict:
        return {"urls": self.urls(), "selected": selected,
                "materials": selectors.task_materials(selected.task) if selected else [],
                "task_trigger": sse_trigger((*TASK_EVENTS, "material.issued"))}

    def console_context(self, *, status: Status | None = None, values=None,
                        error_fields=(), error_form="") -> dict:
        selected = self.selected()
        operator, source = self.operator_and_source
        return {
            "wc": self.work_center, "status": status,
            "operator": operator, "operator_source": source,
            "operator_hours": OPERATOR_HOURS,
            "scrap_reasons": selectors.scrap_reasons(),
            "values": values or {},
            "error_fields": error_fields, "error_form": error_form,
            "ask_short": self.ask_short,
            **self.task_panel_context(selected),
        }

    def equipment_context(self) -> dict:
        return {"wc": self.work_center, "urls": self.urls(),
                "equipment": selectors.station_equipment(self.work_center),
                "downtime_reasons": selectors.downtime_reasons(),
                "equipment_trigger": sse_trigger(EQUIPMENT_EVENTS)}

    def page_context(self, **console) -> dict:
        context = self.console_context(**console)
        context.update(self.equipment_context())
        context.update({
            "title": f"{self.work_center.code} {self.work_center.display_name}",
            "dispatch": selectors.dispatch_list(self.work_center,
                                                selected_id=self.station_session.task_id),
            "dispatch_trigger": DISPATCH_TRIGGER,
            "topics": f"wc:{self.work_center.pk}",
        })
        return context

    def answer(self, status: Status, *, values=None, equipment=False, error_fields=(),
               error_form=""):
        """After an action: htmx gets the console (and the equipment panel when it changed);
        a plain POST gets the whole page. Refusals answer 422; one about what was typed in a
        form ("report", "material") is also shown in that form, beside the fields it names
        (marked aria-invalid): the status line may be out of sight on a phone."""
        http_status = 200 if status.ok else REFUSED
        console = {"status": status, "values": values, "error_fields": error_fields,
                   "error_form": error_form}
        if not self.request.htmx:
            return render(self.request, "execution/station.html",
                          self.page_context(**console), status=http_status)
        context = self.console_context(**console)
        if equipment:
            context.update(self.equipment_context())
            context["equipment_oob"] = True
        response = render(self.request, "execution/_console.html", context, status=http_status)
        if status.ok:
            response["HX-Trigger"] = "station-changed"
        return response

    def answer_changed_task(self, status: Status, *, figures_only: bool = False):
        """After an action that changed only the selected task (a report; start, pause,
        resume): htmx gets the status line, the task panel and the form's "all remaining"
        button, swapped out of band (the browser clears the form it sent), not the whole
        console: the operator, the forms and their lists are as they were. `figures_only`: of
        the panel, only its quantities changed (its status, buttons and materials did not), so
        only they are sent. Anything else gets `answer`."""
        selected = self.selected() if status.ok and self.request.htmx else None
        if selected is None or selected.task.pk != self.selected_before:
            return self.answer(status)  # another task (or none) now: the console changes
        if figures_only:
            response = HttpResponse(figures_answer_html(status, selected))
        else:
            response = render(self.request, "execution/_task_answer.html", {
                "status": status, "oob": True, **self.task_panel_context(selected)})
        response["HX-Reswap"] = "none"  # the out-of-band parts only
        response["HX-Trigger"] = "station-changed"
        return response

    def refused(self, exc: ValidationError, *, action: str, payload: str, values=None,
                log: bool = True, equipment=False, fields=None):
        """Show the refusal and keep it for the lead (outside the refused transaction: the
        service's own atomic block has already rolled back). `fields`: what it is about, when
        the exception does not name them."""
        reason, reason_key = refusal_reason(exc)
        if log:
            scan_refusal_log(work_center=self.work_center, operator=self.operator,
                             action=action, payload=payload, reason=reason,
                             reason_key=reason_key)
        fields = fields or error_fields(exc)
        return self.answer(Status(False, reason), values=values, equipment=equipment,
                           error_fields=fields, error_form=action if fields else "")
