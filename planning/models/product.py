"""Items, their bills of material (one row per parent→child link) and routings."""

import datetime

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.quantities import quantity_text
from planning.models.common import CodedNamed, code_field
from planning.models.plant import WorkCenter


class Item(CodedNamed):
    class Kind(models.TextChoices):
        MAKE = "make", _("made")
        BUY = "buy", _("bought")

    code = code_field()  # the importer's rule: no spaces
    kind = models.CharField(_("made or bought"), max_length=4, choices=Kind.choices,
                            default=Kind.MAKE)
    uom = models.CharField(_("unit"), max_length=16, default="pcs")
    discrete = models.BooleanField(
        _("whole units"), default=True,
        help_text=_("Quantities are counted in whole units and rounded up."))
    description = models.TextField(_("description"), blank=True)

    class Meta(CodedNamed.Meta):
        verbose_name = _("item")
        verbose_name_plural = _("items")

    @property
    def is_made(self) -> bool:
        return self.kind == self.Kind.MAKE


def effective_q(on: datetime.date, prefix: str = "") -> Q:
    """Versions in effect on a date (effective_from ≤ on < effective_to)."""
    return (Q(**{f"{prefix}active": True, f"{prefix}effective_from__lte": on})
            & (Q(**{f"{prefix}effective_to__isnull": True})
               | Q(**{f"{prefix}effective_to__gt": on})))


class BOMVersion(models.Model):
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT,
                             related_name="bom_versions")
    version = models.CharField(_("version"), max_length=20, default="1")
    effective_from = models.DateField(_("effective from"), default=datetime.date(2000, 1, 1))
    effective_to = models.DateField(_("effective until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("BOM version")
        verbose_name_plural = _("BOM versions")
        ordering = ["item__code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["item", "version"], name="bom_version_unique"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=models.F(
                    "effective_from")), name="bom_version_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.item.code} BOM v{self.version}"


class BOMLine(models.Model):
    bom = models.ForeignKey(BOMVersion, verbose_name=_("BOM"), on_delete=models.CASCADE,
                            related_name="lines")
    position = models.PositiveIntegerField(_("position"), default=10)
    child = models.ForeignKey(Item, verbose_name=_("component"), on_delete=models.PROTECT,
                              related_name="used_in_lines")
    quantity_per = models.DecimalField(_("quantity per"), max_digits=14, decimal_places=4,
                                       validators=[MinValueValidator(0.0001)])
    scrap_pct = models.DecimalField(_("scrap %"), max_digits=5, decimal_places=2, default=0,
                                    validators=[MinValueValidator(0), MaxValueValidator(99)])
    optional = models.BooleanField(_("optional"), default=False)
    # The parent's routing step that consumes this component (empty: the first step).
    operation_seq = models.PositiveIntegerField(_("consumed at step"), null=True, blank=True)

    class Meta:
        verbose_name = _("BOM line")
        verbose_name_plural = _("BOM lines")
        ordering = ["bom", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bom", "child"], name="bom_line_child_once"),
            models.CheckConstraint(condition=Q(quantity_per__gt=0),
                                   name="bom_line_quantity_positive"),
            models.CheckConstraint(condition=Q(scrap_pct__gte=0) & Q(scrap_pct__lt=100),
                                   name="bom_line_scrap_range"),
        ]

    def __str__(self) -> str:
        return f"{self.bom} → {self.child.code} × {quantity_text(self.quantity_per)}"


class Routing(models.Model):
    item = models.ForeignKey(Item, verbose_name=_("item"), on_delete=models.PROTECT,
                             related_name="routings")
    version = models.CharField(_("version"), max_length=20, default="1")
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("routing")
        verbose_name_plural = _("routings")
        ordering = ["item__code", "version"]
        constraints = [
            models.UniqueConstraint(fields=["item", "version"], name="routing_version_unique"),
            models.UniqueConstraint(fields=["item"], condition=Q(active=True),
                                    name="routing_one_active_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item.code} routing v{self.version}"


class RoutingStep(models.Model):
    routing = models.ForeignKey(Routing, verbose_name=_("routing"), on_delete=models.CASCADE,
                                related_name="steps")
    seq = models.PositiveIntegerField(_("step"))
    name = models.CharField(_("operation"), max_length=120)
    work_center = models.ForeignKey(WorkCenter, verbose_name=_("work center"),
                                    on_delete=models.PROTECT, related_name="routing_steps")
    setup_minutes = models.DecimalField(_("setup (min)"), max_digits=9, decimal_places=2,
                                        default=0, validators=[MinValueValidator(0)])
    run_minutes_per_unit = models.DecimalField(_("run time per unit (min)"), max_digits=9,
                                               decimal_places=3, default=0,
                                               validators=[MinValueValidator(0)])
    is_qc_checkpoint = models.BooleanField(_("QC checkpoint"), default=False)
    inspection_plan_code = models.CharField(_("inspection plan"), max_length=40, blank=True)
    wait_for_qc = models.BooleanField(
        _("next step waits for QC"), default=False,
        help_text=_("The next step cannot start on a quantity until its inspection passed."))

    class Meta:
        verbose_name = _("routing step")
        verbose_name_plural = _("routing steps")
        ordering = ["routing", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["routing", "seq"], name="routing_step_seq_unique"),
            models.CheckConstraint(condition=Q(setup_minutes__gte=0)
                                   & Q(run_minutes_per_unit__gte=0),
                                   name="routing_step_times_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.name} @ {self.work_center.code}"
