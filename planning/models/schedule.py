"""Schedule versions: every scheduler run is kept, compared with the current one, applied."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.system_text import render as render_system_text
from planning.models.orders import ProductionOrder, Task
from planning.models.plant import WorkCenter


class ScheduleVersion(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("computing")
        READY = "ready", _("ready to apply")
        APPLIED = "applied", _("current")
        SUPERSEDED = "superseded", _("superseded")
        DISCARDED = "discarded", _("discarded")
        FAILED = "failed", _("failed")

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("by"))
    reason = models.CharField(_("why"), max_length=200)
    # When the system words it (a rush order, a change): mes.system_text, for each reader's
    # language; `reason` keeps the writer's.
    reason_key = models.JSONField(_("why (message)"), null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.RUNNING, db_index=True)
    progress = models.FloatField(_("progress"), default=0)
    message = models.CharField(_("message"), max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    origin = models.DateTimeField(_("schedule origin"), default=timezone.now)
    time_limit = models.FloatField(_("time limit (s)"), default=10)
    frozen_minutes = models.PositiveIntegerField(_("frozen horizon (min)"), default=120)
    method = models.CharField(_("method"), max_length=32, blank=True)
    weighted_tardiness = models.BigIntegerField(_("weighted tardiness (min)"), null=True,
                                                blank=True)
    makespan_minutes = models.BigIntegerField(_("makespan (min)"), null=True, blank=True)
    late_orders = models.PositiveIntegerField(_("late work orders"), null=True, blank=True)
    wall_time = models.FloatField(_("solver time (s)"), null=True, blank=True)
    tasks = models.PositiveIntegerField(_("tasks"), default=0)
    # What-if: a rush order being inserted, or changes to released orders, waiting for apply.
    rush_order = models.ForeignKey(ProductionOrder, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("rush order"))
    pending_changes = models.JSONField(_("pending order changes"), default=list, blank=True)
    diff = models.JSONField(_("difference from the current schedule"), default=dict,
                            blank=True)
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("applied by"))

    class Meta:
        verbose_name = _("schedule version")
        verbose_name_plural = _("schedule versions")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"S{self.pk} {self.reason_shown}"

    @property
    def reason_shown(self) -> str:
        return self.reason if self.reason_key is None else render_system_text(
            self.reason_key, self.reason)

    @property
    def method_label(self) -> str:
        """How the plan was found, in the reader's language (the engine's code otherwise)."""
        return str(METHOD_LABELS.get(self.method, self.method))


# The scheduling engine's `method` codes (planning.scheduling.engine).
METHOD_LABELS = {
    "heuristic": _("dispatch rule (heuristic)"),
    "cp-sat optimal": _("CP-SAT solver, proven optimal"),
    "cp-sat feasible": _("CP-SAT solver, best found in the time limit"),
}


class ScheduleEntry(models.Model):
    version = models.ForeignKey(ScheduleVersion, on_delete=models.CASCADE,
                                related_name="entries")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="schedule_entries")
    work_center = models.ForeignKey(WorkCenter, on_delete=models.CASCADE, related_name="+")
    machine = models.PositiveSmallIntegerField(default=0)
    start = models.DateTimeField()
    end = models.DateTimeField()
    fixed = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("scheduled task")
        verbose_name_plural = _("scheduled tasks")
        constraints = [models.UniqueConstraint(fields=["version", "task"],
                                               name="schedule_entry_once")]
        indexes = [models.Index(fields=["version", "work_center", "start"])]

    def __str__(self) -> str:
        return f"S{self.version_id} task {self.task_id} @ {self.start:%Y-%m-%d %H:%M}"
