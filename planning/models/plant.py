"""The ISA-95 equipment hierarchy and the working calendars."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from planning.models.common import CodedNamed, code_field


class Site(CodedNamed):
    class Meta(CodedNamed.Meta):
        verbose_name = _("site")
        verbose_name_plural = _("sites")


class Workshop(CodedNamed):
    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT,
                             related_name="workshops")

    class Meta(CodedNamed.Meta):
        verbose_name = _("workshop")
        verbose_name_plural = _("workshops")


class Line(CodedNamed):
    workshop = models.ForeignKey(Workshop, verbose_name=_("workshop"), on_delete=models.PROTECT,
                                 related_name="lines")

    class Meta(CodedNamed.Meta):
        verbose_name = _("line")
        verbose_name_plural = _("lines")


class ShiftCalendar(CodedNamed):
    """A weekly shift pattern with breaks, plus holidays. Work happens only inside shifts."""

    class Meta(CodedNamed.Meta):
        verbose_name = _("shift calendar")
        verbose_name_plural = _("shift calendars")


class Shift(models.Model):
    class Weekday(models.IntegerChoices):
        MON = 0, _("Monday")
        TUE = 1, _("Tuesday")
        WED = 2, _("Wednesday")
        THU = 3, _("Thursday")
        FRI = 4, _("Friday")
        SAT = 5, _("Saturday")
        SUN = 6, _("Sunday")

    calendar = models.ForeignKey(ShiftCalendar, on_delete=models.CASCADE, related_name="shifts",
                                 verbose_name=_("calendar"))
    name = models.CharField(_("shift"), max_length=40)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"), help_text=_("Earlier than the start: the shift ends the "
                                                 "next day."))
    # Breaks inside the shift as [["12:00", "12:30"], ...]: no work is planned in them.
    breaks = models.JSONField(_("breaks"), default=list, blank=True)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["calendar", "weekday", "start"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.name} {self.start:%H:%M}-{self.end:%H:%M}"

    def clean(self):
        if self.start == self.end:
            raise ValidationError({"end": _("A shift must not start and end at the same time.")})
        for pair in self.breaks or []:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise ValidationError({"breaks": _("Each break is a [start, end] pair.")})


class Holiday(models.Model):
    calendar = models.ForeignKey(ShiftCalendar, on_delete=models.CASCADE,
                                 related_name="holidays", verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    name = models.CharField(_("Name"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"],
                                               name="holiday_unique_per_calendar")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class WorkCenter(CodedNamed):
    """Where a routing step is done: a group of identical machines (capacity = how many)."""

    code = code_field()  # the importer's rule: no spaces
    line = models.ForeignKey(Line, verbose_name=_("line"), on_delete=models.PROTECT,
                             related_name="work_centers")
    machines = models.PositiveSmallIntegerField(
        _("parallel machines"), default=1,
        help_text=_("How many tasks can run here at the same time."))
    cost_center = models.CharField(_("cost centre"), max_length=40, blank=True)
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("lead person"),
                             null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="led_work_centers")
    calendar = models.ForeignKey(ShiftCalendar, verbose_name=_("shift calendar"), null=True,
                                 blank=True, on_delete=models.PROTECT,
                                 related_name="work_centers",
                                 help_text=_("Empty: works around the clock."))
    in_service_from = models.DateField(
        _("in service from"), null=True, blank=True,
        help_text=_("The day it starts (or started) producing, or started being recorded "
                    "here: the scheduler gives it work, and OEE counts its planned time, from "
                    "then on. Empty: always in service."))
    operators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                       verbose_name=_("assigned operators"),
                                       related_name="work_centers")

    class Meta(CodedNamed.Meta):
        verbose_name = _("work center")
        verbose_name_plural = _("work centers")
        constraints = [models.CheckConstraint(condition=models.Q(machines__gte=1),
                                              name="work_center_has_a_machine")]


class Equipment(CodedNamed):
    work_center = models.ForeignKey(WorkCenter, verbose_name=_("work center"),
                                    on_delete=models.PROTECT, related_name="equipment")
    model_no = models.CharField(_("model"), max_length=80, blank=True)

    class Meta(CodedNamed.Meta):
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
