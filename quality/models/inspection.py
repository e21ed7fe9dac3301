from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from execution.models import WorkReport
from planning.models import Equipment, Item, Task, WorkOrder
from planning.models.common import CodedNamed


class DefectCode(CodedNamed):
    class Meta(CodedNamed.Meta):
        verbose_name = _("defect code")
        verbose_name_plural = _("defect codes")


class InspectionPlan(CodedNamed):
    """What to check at a QC checkpoint, and how much of each lot to sample.

    Routing steps name a plan by its code (RoutingStep.inspection_plan_code); a plan may be
    limited to one item."""

    class Sampling(models.TextChoices):
        EVERY_UNIT = "every", _("every unit")
        FIRST_ARTICLE = "first", _("first article")
        N_PER_LOT = "n_per_lot", _("n per lot")
        PERCENT = "percent", _("percentage of the lot")

    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="inspection_plans", verbose_name=_("item"))
    sampling = models.CharField(_("sampling"), max_length=12, choices=Sampling.choices,
                                default=Sampling.EVERY_UNIT)
    sample_n = models.PositiveIntegerField(_("units per lot"), default=1)
    sample_percent = models.DecimalField(_("sample %"), max_digits=5, decimal_places=2,
                                         default=10, validators=[MinValueValidator(0.01),
                                                                 MaxValueValidator(100)])
    max_rework_loops = models.PositiveSmallIntegerField(
        _("maximum rework loops"), default=2,
        help_text=_("After this many failed re-inspections the quantity must be scrapped or "
                    "escalated."))

    class Meta(CodedNamed.Meta):
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")


class Characteristic(models.Model):
    class Kind(models.TextChoices):
        MEASURED = "measured", _("measured")
        PASS_FAIL = "pass_fail", _("pass / fail")
        VISUAL = "visual", _("visual (photo)")

    plan = models.ForeignKey(InspectionPlan, on_delete=models.CASCADE,
                             related_name="characteristics", verbose_name=_("plan"))
    seq = models.PositiveIntegerField(_("order"), default=10)
    name = models.CharField(_("characteristic"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices,
                            default=Kind.MEASURED)
    nominal = models.DecimalField(_("nominal"), max_digits=14, decimal_places=5, null=True,
                                  blank=True)
    lower = models.DecimalField(_("lower limit"), max_digits=14, decimal_places=5, null=True,
                                blank=True)
    upper = models.DecimalField(_("upper limit"), max_digits=14, decimal_places=5, null=True,
                                blank=True)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    photo_required = models.BooleanField(_("photo required"), default=False)

    class Meta:
        verbose_name = _("characteristic")
        verbose_name_plural = _("characteristics")
        ordering = ["plan", "seq", "id"]
        constraints = [models.CheckConstraint(
            condition=Q(lower__isnull=True) | Q(upper__isnull=True) | Q(lower__lte=models.F(
                "upper")), name="characteristic_limits_ordered")]

    def __str__(self) -> str:
        return self.name


class Inspection(models.Model):
    """One inspection of one reported lot at a QC checkpoint (or its re-inspection)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for inspection")
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="inspections",
                             verbose_name=_("task"))
    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT,
                                   related_name="inspections", verbose_name=_("work order"))
    plan = models.ForeignKey(InspectionPlan, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="inspections", verbose_name=_("plan"))
    report = models.ForeignKey(WorkReport, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="inspections", verbose_name=_("work report"))
    # The step whose output is inspected (a rework task's origin for re-inspections).
    origin_task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("inspected step"))
    loop = models.PositiveSmallIntegerField(_("rework loop"), default=0)
    quantity = models.DecimalField(_("lot quantity"), max_digits=14, decimal_places=4)
    sample_size = models.DecimalField(_("sample size"), max_digits=14, decimal_places=4)
    qty_passed = models.DecimalField(_("passed"), max_digits=14, decimal_places=4, default=0)
    qty_failed = models.DecimalField(_("failed"), max_digits=14, decimal_places=4, default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    inspected_at = models.DateTimeField(_("inspected"), null=True, blank=True)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("inspector"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=Q(qty_passed__gte=0) & Q(qty_failed__gte=0)
            & Q(quantity__gte=models.F("qty_passed") + models.F("qty_failed")),
            name="inspection_quantities_balance")]

    def __str__(self) -> str:
        return f"QC {self.work_order.number}/{self.origin_task.seq} #{self.pk}"


class InspectionResult(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results",
                                   verbose_name=_("inspection"))
    characteristic = models.ForeignKey(Characteristic, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("characteristic"))
    value = models.DecimalField(_("measured value"), max_digits=14, decimal_places=5,
                                null=True, blank=True)
    passed = models.BooleanField(_("passed"))
    photo = models.ImageField(_("photo"), upload_to="inspections/%Y/%m/", null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("inspection result")
        verbose_name_plural = _("inspection results")
        ordering = ["inspection", "characteristic__seq"]
        constraints = [models.UniqueConstraint(fields=["inspection", "characteristic"],
                                               name="result_once_per_characteristic")]

    def __str__(self) -> str:
        return f"{self.characteristic}: {self.value if self.value is not None else self.passed}"


class Nonconformance(models.Model):
    """Units that failed inspection, and what happens to them (disposition)."""

    class Disposition(models.TextChoices):
        PENDING = "pending", _("to be decided")
        REWORK = "rework", _("rework")
        SCRAP = "scrap", _("scrap")
        USE_AS_IS = "use_as_is", _("use as is")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        IN_REWORK = "in_rework", _("in rework")
        CLOSED = "closed", _("closed")

    number = models.CharField(_("number"), max_length=40, unique=True)
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT,
                                   related_name="nonconformances", verbose_name=_("inspection"))
    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT,
                                   related_name="nonconformances", verbose_name=_("work order"))
    responsible_task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="+",
                                         verbose_name=_("responsible step"))
    defect_code = models.ForeignKey(DefectCode, on_delete=models.PROTECT,
                                    related_name="nonconformances",
                                    verbose_name=_("defect code"))
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("operator"))
    equipment = models.ForeignKey(Equipment, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("equipment"))
    description = models.TextField(_("description"), blank=True)
    disposition = models.CharField(_("disposition"), max_length=10,
                                   choices=Disposition.choices, default=Disposition.PENDING)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.OPEN, db_index=True)
    loop = models.PositiveSmallIntegerField(_("rework loop"), default=0)
    rework_task = models.OneToOneField(Task, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="nonconformance",
                                       verbose_name=_("rework task"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("opened by"))
    dispositioned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+",
                                         verbose_name=_("decided by"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("approved by"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("nonconformance")
        verbose_name_plural = _("nonconformances")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0),
                                              name="nonconformance_quantity_positive")]

    def __str__(self) -> str:
        return self.number
