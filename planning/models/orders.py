"""The work: production orders, their work-order tree and the operation tasks.

Tasks copy their routing step (work center, times, QC flags) at explosion, so changing a
routing or BOM never silently changes work already planned or released.
"""

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.quantities import quantity_text
from planning.models.common import validate_code
from planning.models.plant import Line, WorkCenter
from planning.models.product import BOMVersion, Item, Routing


def new_token() -> str:
    """A QR payload that cannot be guessed into another record (128 random bits)."""
    return secrets.token_urlsafe(16)


class Priority(models.IntegerChoices):
    NORMAL = 1, _("normal")
    HIGH = 2, _("high")
    URGENT = 3, _("urgent")

    @classmethod
    def weight(cls, value: int) -> int:
        """Scheduling weight: urgent ≫ high ≫ normal."""
        return {cls.NORMAL: 1, cls.HIGH: 10, cls.URGENT: 100}[value]


class ProductionOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PLANNED = "planned", _("planned")          # exploded into work orders
        RELEASED = "released", _("released")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        CANCELLED = "cancelled", _("cancelled")

    number = models.CharField(_("order number"), max_length=40, unique=True,
                              validators=[validate_code])
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT,
                             related_name="production_orders")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4,
                                   validators=[MinValueValidator(0.0001)])
    due = models.DateTimeField(_("due"))
    release_date = models.DateTimeField(_("earliest start"), null=True, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices,
                                                default=Priority.NORMAL)
    customer = models.CharField(_("customer"), max_length=120, blank=True)
    sales_order_ref = models.CharField(_("sales order"), max_length=60, blank=True)
    erp_ref = models.CharField(_("ERP reference"), max_length=80, null=True, blank=True,
                               unique=True)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.DRAFT, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    exploded_at = models.DateTimeField(_("exploded"), null=True, blank=True)

    class Meta:
        verbose_name = _("production order")
        verbose_name_plural = _("production orders")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0),
                                              name="production_order_quantity_positive")]

    def __str__(self) -> str:
        return self.number


class WorkOrder(models.Model):
    """One made item at one place in the production order's BOM tree."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        RELEASED = "released", _("released")
        IN_PROGRESS = "in_progress", _("in progress")
        ON_HOLD = "on_hold", _("on hold")
        AWAITING_ACCEPTANCE = "awaiting_acceptance", _("awaiting acceptance")
        ACCEPTED = "accepted", _("accepted")
        CANCELLED = "cancelled", _("cancelled")

    OPEN_STATUSES = (Status.DRAFT, Status.RELEASED, Status.IN_PROGRESS, Status.ON_HOLD,
                     Status.AWAITING_ACCEPTANCE)

    number = models.CharField(_("work order"), max_length=60, unique=True)
    production_order = models.ForeignKey(ProductionOrder, verbose_name=_("production order"),
                                         on_delete=models.CASCADE, related_name="work_orders")
    parent = models.ForeignKey("self", verbose_name=_("parent work order"), null=True,
                               blank=True, on_delete=models.CASCADE, related_name="children")
    level = models.PositiveSmallIntegerField(_("BOM level"), default=0)
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT,
                             related_name="work_orders")
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4)
    bom_version = models.ForeignKey(BOMVersion, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("BOM version"))
    routing = models.ForeignKey(Routing, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("routing"))
    line = models.ForeignKey(Line, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="work_orders", verbose_name=_("line"))
    responsible = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="work_orders",
                                    verbose_name=_("responsible"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices,
                              default=Status.DRAFT, db_index=True)
    held_from = models.CharField(_("status before the hold"), max_length=24,
                                 choices=Status.choices, blank=True)  # status to resume to
    due = models.DateTimeField(_("due"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices,
                                                default=Priority.NORMAL)
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual finish"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    qr_token = models.CharField(_("traveler QR code"), max_length=32, unique=True,
                                default=new_token, editable=False)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["production_order_id", "level", "number"]
        indexes = [models.Index(fields=["status", "due"])]

    def __str__(self) -> str:
        return self.number


class Task(models.Model):
    """One routing step of one work order (工序任务), or a rework task linked to its origin."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        RELEASED = "released", _("released")
        IN_PROGRESS = "in_progress", _("in progress")
        PAUSED = "paused", _("paused")
        ON_HOLD = "on_hold", _("on hold")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    class Kind(models.TextChoices):
        NORMAL = "normal", _("operation")
        REWORK = "rework", _("rework")

    OPEN_STATUSES = (Status.PLANNED, Status.RELEASED, Status.IN_PROGRESS, Status.PAUSED,
                     Status.ON_HOLD)

    work_order = models.ForeignKey(WorkOrder, verbose_name=_("work order"),
                                   on_delete=models.CASCADE, related_name="tasks")
    seq = models.PositiveIntegerField(_("step"))
    name = models.CharField(_("operation"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.NORMAL)
    origin = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="rework_tasks", verbose_name=_("rework of"))
    work_center = models.ForeignKey(WorkCenter, verbose_name=_("work center"),
                                    on_delete=models.PROTECT, related_name="tasks")
    setup_minutes = models.DecimalField(_("setup (min)"), max_digits=9, decimal_places=2,
                                        default=0)
    run_minutes_per_unit = models.DecimalField(_("run time per unit (min)"), max_digits=9,
                                               decimal_places=3, default=0)
    is_qc_checkpoint = models.BooleanField(_("QC checkpoint"), default=False)
    inspection_plan_code = models.CharField(_("inspection plan"), max_length=40, blank=True)
    wait_for_qc = models.BooleanField(_("next step waits for QC"), default=False)
    quantity = models.DecimalField(_("planned quantity"), max_digits=14, decimal_places=4)
    qty_good = models.DecimalField(_("good"), max_digits=14, decimal_places=4, default=0)
    qty_scrap = models.DecimalField(_("scrap"), max_digits=14, decimal_places=4, default=0)
    # Units of this step now in rework: moved out of its good count when QC failed them, back
    # when their re-inspection passes (or into scrap). Not cumulative: what was ever reworked
    # is the work order's rework tasks.
    qty_rework = models.DecimalField(_("in rework"), max_digits=14, decimal_places=4,
                                     default=0)
    # For a step whose next step waits for QC: the good quantity inspection has passed, which
    # is all the next step may work on.
    qty_qc_accepted = models.DecimalField(_("accepted by QC"), max_digits=14, decimal_places=4,
                                          default=0)
    # Units the step was given and never reported (neither good nor scrap) when it was
    # completed short, with the operator's reason (TaskActivity): they balance its quantities.
    qty_short = models.DecimalField(_("completed short by"), max_digits=14, decimal_places=4,
                                    default=0)
    # Why (the operator's words, kept on the completion too): shown where planners look.
    short_reason = models.CharField(_("reason for completing short"), max_length=200,
                                    blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices,
                              default=Status.PLANNED, db_index=True)
    held_from = models.CharField(_("status before the hold"), max_length=16,
                                 choices=Status.choices, blank=True)  # status to resume to
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True,
                                         db_index=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual finish"), null=True, blank=True)
    # Planner's pin: the scheduler keeps the task on this work center / at this start.
    pinned_start = models.DateTimeField(_("pinned start"), null=True, blank=True)
    pinned_work_center = models.ForeignKey(WorkCenter, null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+",
                                           verbose_name=_("pinned work center"))
    qr_token = models.CharField(_("traveler QR code"), max_length=32, unique=True,
                                default=new_token, editable=False)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["work_order_id", "seq", "id"]
        indexes = [models.Index(fields=["work_center", "status", "planned_start"])]
        constraints = [
            models.CheckConstraint(condition=Q(qty_good__gte=0) & Q(qty_scrap__gte=0)
                                   & Q(qty_rework__gte=0) & Q(qty_short__gte=0),
                                   name="task_quantities_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.work_order.number}/{self.seq} {self.name}"

    @property
    def duration_minutes(self) -> float:
        return float(self.setup_minutes + self.run_minutes_per_unit * self.quantity)

    @property
    def qty_taken(self):
        """What the step has taken of its input: good, scrap, and its units in rework (they
        were reported good, failed inspection and come back as good or scrap, never as
        more work for the step)."""
        return self.qty_good + self.qty_scrap + self.qty_rework


class TaskLink(models.Model):
    """Precedence: `successor` may not start before `predecessor` has finished."""

    predecessor = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="out_links")
    successor = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="in_links")

    class Meta:
        verbose_name = _("task dependency")
        verbose_name_plural = _("task dependencies")
        constraints = [models.UniqueConstraint(fields=["predecessor", "successor"],
                                               name="task_link_unique")]

    def __str__(self) -> str:
        return f"{self.predecessor_id} → {self.successor_id}"


class MaterialRequirement(models.Model):
    """A bought component a work order needs, from its BOM at explosion."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE,
                                   related_name="materials", verbose_name=_("work order"))
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("component"))
    quantity = models.DecimalField(_("required"), max_digits=14, decimal_places=4)
    operation_seq = models.PositiveIntegerField(_("consumed at step"), null=True, blank=True)

    class Meta:
        verbose_name = _("material requirement")
        verbose_name_plural = _("material requirements")
        ordering = ["work_order_id", "item__code"]

    def __str__(self) -> str:
        return f"{self.work_order.number}: {self.item.code} × {quantity_text(self.quantity)}"
