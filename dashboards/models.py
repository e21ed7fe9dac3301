"""KPI targets managers may change; the defaults live with the KPI definitions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class KpiTarget(models.Model):
    """The target of one KPI, plant-wide. No row: the default of dashboards.kpis applies."""

    key = models.CharField(_("KPI"), max_length=32, unique=True)
    value = models.DecimalField(_("target"), max_digits=10, decimal_places=3, null=True,
                                blank=True, help_text=_("Empty: no target line."))
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("changed by"))

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class ReportDay(models.Model):
    """What the work reports of one closed plant day at one work center add up to (a rollup:
    derived data, rebuilt from the reports whenever needed). Reports are immutable and count on
    the day they were reported, so a closed day never changes; KPI pages read these rows for
    closed days and the raw reports only for the days after them."""

    day = models.DateField(_("day"))
    work_center = models.ForeignKey("planning.WorkCenter", on_delete=models.CASCADE,
                                    related_name="+", verbose_name=_("work center"))
    reports = models.PositiveIntegerField(_("work reports"), default=0)
    timely = models.PositiveIntegerField(_("reported in time"), default=0)
    good = models.DecimalField(_("good"), max_digits=18, decimal_places=4, default=0)
    total = models.DecimalField(_("good + scrap"), max_digits=18, decimal_places=4, default=0)
    ideal_minutes = models.FloatField(_("ideal time (min)"), default=0)

    class Meta:
        verbose_name = _("work reports of a day")
        verbose_name_plural = _("work reports per day")
        # Also the index the pages read by (day range first).
        constraints = [models.UniqueConstraint(fields=["day", "work_center"],
                                               name="report_day_once")]

    def __str__(self) -> str:
        return f"{self.day} {self.work_center_id}: {self.reports}"


class RollupState(models.Model):
    """How far a rollup reaches: every plant day up to `through_day` is in it. `grace_minutes`
    is the report grace the `timely` counts were made with (another grace: rebuilt).
    `high_water` is the last work report id seen when it was made: a later report dated
    inside the rolled-up days (a backdated import, a replayed history) makes it stale."""

    key = models.CharField(max_length=32, unique=True)
    through_day = models.DateField(null=True, blank=True)
    grace_minutes = models.PositiveIntegerField(default=0)
    high_water = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("KPI rollup state")
        verbose_name_plural = _("KPI rollup states")

    def __str__(self) -> str:
        return f"{self.key} through {self.through_day}"
