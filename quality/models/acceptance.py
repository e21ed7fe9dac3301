from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from planning.models import WorkOrder


class Acceptance(models.Model):
    """A sign-off decision on a finished work order (验收): accepted, or rejected with why."""

    class Verdict(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT,
                                   related_name="acceptances", verbose_name=_("work order"))
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                           verbose_name=_("signed by"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("acceptance")
        verbose_name_plural = _("acceptances")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.work_order} {self.verdict} {self.at:%Y-%m-%d}"


class ArchivedRecord(models.Model):
    """The frozen, complete record of an accepted work order (归档). Never changed: a re-opened
    work order's record is superseded by the next one, not edited."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT,
                                   related_name="archives", verbose_name=_("work order"))
    archived_at = models.DateTimeField(_("archived"), default=timezone.now)
    archived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("archived by"))
    data = models.JSONField(_("record"))
    sha256 = models.CharField(_("checksum"), max_length=64)
    superseded_at = models.DateTimeField(_("re-opened"), null=True, blank=True)

    class Meta:
        verbose_name = _("archived record")
        verbose_name_plural = _("archived records")
        ordering = ["-archived_at", "-id"]

    def __str__(self) -> str:
        return f"{self.work_order} @ {self.archived_at:%Y-%m-%d}"
