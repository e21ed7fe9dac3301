from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from planning.models import Equipment
from planning.models.common import CodedNamed


def clock_text(moment) -> str:
    """Plant-local "08:00" for a moment today, "2031-06-01 08:00" for any other day: a state
    that began yesterday must not read as if it began this morning."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


class DowntimeReason(CodedNamed):
    class Meta(CodedNamed.Meta):
        verbose_name = _("downtime reason")
        verbose_name_plural = _("downtime reasons")


class EquipmentState(models.Model):
    """The current state of one piece of equipment (one row each)."""

    class State(models.TextChoices):
        RUNNING = "running", _("running")
        IDLE = "idle", _("idle")
        SETUP = "setup", _("setup")
        DOWN = "down", _("down")
        MAINTENANCE = "maintenance", _("maintenance")

    equipment = models.OneToOneField(Equipment, on_delete=models.CASCADE,
                                     related_name="state", verbose_name=_("equipment"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices,
                             default=State.IDLE)
    reason = models.ForeignKey(DowntimeReason, null=True, blank=True, on_delete=models.PROTECT,
                               verbose_name=_("reason"))
    since = models.DateTimeField(_("since"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("set by"))

    class Meta:
        verbose_name = _("equipment state")
        verbose_name_plural = _("equipment states")

    def __str__(self) -> str:
        return f"{self.equipment.code}: {self.get_state_display()}"

    @property
    def since_text(self) -> str:
        return clock_text(self.since)


class EquipmentStateChange(models.Model):
    equipment = models.ForeignKey(Equipment, on_delete=models.CASCADE,
                                  related_name="state_changes", verbose_name=_("equipment"))
    state = models.CharField(_("state"), max_length=12, choices=EquipmentState.State.choices)
    previous = models.CharField(_("previous state"), max_length=12, blank=True)
    reason = models.ForeignKey(DowntimeReason, null=True, blank=True, on_delete=models.PROTECT,
                               verbose_name=_("reason"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+", verbose_name=_("by"))
    client_token = models.CharField(_("submission token"), max_length=64, unique=True,
                                    null=True, blank=True)

    class Meta:
        verbose_name = _("equipment state change")
        verbose_name_plural = _("equipment state changes")
        ordering = ["equipment_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.equipment.code} {self.previous}→{self.state} {self.at:%H:%M}"


class DowntimeEvent(models.Model):
    """A stop of one piece of equipment. Unplanned stops come from stations; planned ones from
    the calendar or maintenance. `end` is empty while it lasts."""

    equipment = models.ForeignKey(Equipment, on_delete=models.PROTECT, related_name="downtimes",
                                  verbose_name=_("equipment"))
    reason = models.ForeignKey(DowntimeReason, null=True, blank=True, on_delete=models.PROTECT,
                               verbose_name=_("reason"))
    start = models.DateTimeField(_("start"), db_index=True)
    end = models.DateTimeField(_("end"), null=True, blank=True)
    planned = models.BooleanField(_("planned"), default=False)
    note = models.CharField(_("note"), max_length=200, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("reported by"))

    class Meta:
        verbose_name = _("downtime")
        verbose_name_plural = _("downtime")
        ordering = ["-start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gt=models.F("start")),
                                   name="downtime_end_after_start"),
            models.UniqueConstraint(fields=["equipment"], condition=Q(end__isnull=True),
                                    name="downtime_one_open_per_equipment"),
        ]

    def __str__(self) -> str:
        return f"{self.equipment.code} {self.start:%Y-%m-%d %H:%M} ({self.reason or ''})"
