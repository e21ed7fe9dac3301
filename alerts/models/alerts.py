"""Alerts, their comments and the notifications sent about them."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from alerts.kinds import Channel, Kind, Severity
from alerts.messages import render_message
from alerts.models.rules import AlertRule, WebhookEndpoint
from planning.models import Equipment, Line, Task, WorkCenter, WorkOrder, Workshop


def _denormalised(model, verbose_name):
    # Copies of where the subject sits, for board filters and one-query selectors. No database
    # constraint and DO_NOTHING: deleting a draft task tree must not have to look at alerts.
    return models.ForeignKey(model, null=True, blank=True, on_delete=models.DO_NOTHING,
                             db_constraint=False, related_name="+", verbose_name=verbose_name)


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        RESOLVED = "resolved", _("resolved")
        CLOSED = "closed", _("closed")

    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)

    rule = models.ForeignKey(AlertRule, on_delete=models.PROTECT, related_name="alerts",
                             verbose_name=_("rule"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices,
                              default=Status.OPEN)
    # The subject: a task, work order, inspection, nonconformance, downtime or work center.
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("subject type"))
    object_id = models.PositiveBigIntegerField(_("subject id"))
    subject = GenericForeignKey("content_type", "object_id")
    subject_repr = models.CharField(_("subject"), max_length=200)
    task = _denormalised(Task, _("task"))
    work_order = _denormalised(WorkOrder, _("work order"))
    work_center = _denormalised(WorkCenter, _("work center"))
    line = _denormalised(Line, _("line"))
    workshop = _denormalised(Workshop, _("workshop"))
    equipment = _denormalised(Equipment, _("equipment"))
    message = models.CharField(_("message"), max_length=500)
    data = models.JSONField(_("details"), default=dict, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now, db_index=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_alerts",
                                 verbose_name=_("assignee"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        verbose_name=_("acknowledged by"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("resolved by"))
    cause = models.TextField(_("cause"), blank=True)
    action = models.TextField(_("action taken"), blank=True)
    auto_resolved = models.BooleanField(_("resolved automatically"), default=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("closed by"))
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    next_escalation_at = models.DateTimeField(_("next escalation"), null=True, blank=True)
    condition_cleared_at = models.DateTimeField(_("condition cleared"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_escalation_at"], name="alert_escalation_due"),
            models.Index(fields=["rule", "status"], name="alert_rule_status"),
            models.Index(fields=["rule", "object_id"], name="alert_rule_subject"),
            models.Index(fields=["work_center", "status"], name="alert_wc_status"),
            models.Index(fields=["task", "status"], name="alert_task_status"),
        ]
        constraints = [
            # One open alert per rule and subject; the sweep's race is settled by this.
            models.UniqueConstraint(fields=["rule", "content_type", "object_id"],
                                    condition=Q(status__in=["open", "acknowledged"]),
                                    name="alert_one_open_per_rule_subject"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "acknowledged"])
                | (~Q(cause="") & ~Q(action="") & Q(resolved_at__isnull=False)),
                name="alert_resolved_has_cause_and_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rule.code} {self.subject_repr}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def message_shown(self) -> str:
        """The message in the reader's language (rendered again from `data`)."""
        return render_message(self.kind, self.data, self.message)

    # The cause and action of an alert its rule resolved (the condition cleared): the
    # system's words, stored in the worker's language, shown in the reader's.
    AUTO_CAUSE = gettext_noop("The condition cleared.")
    AUTO_ACTION = gettext_noop("Resolved automatically by the rule.")

    @property
    def _resolved_by_rule(self) -> bool:
        return self.auto_resolved and self.resolved_by_id is None

    @property
    def cause_shown(self) -> str:
        return gettext(self.AUTO_CAUSE) if self._resolved_by_rule else self.cause

    @property
    def action_shown(self) -> str:
        return gettext(self.AUTO_ACTION) if self._resolved_by_rule else self.action


class AlertComment(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="comments",
                              verbose_name=_("alert"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("author"))
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("alert comment")
        verbose_name_plural = _("alert comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.text[:40]}"


class Notification(models.Model):
    """One message about one alert to one person (or one webhook) on one channel, at one
    escalation level. The unique keys make each of them exist, and be sent, once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENDING = "sending", _("sending")  # claimed by a worker
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications",
                              verbose_name=_("alert"))
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="alert_notifications",
                                  verbose_name=_("recipient"))
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="notifications",
                                 verbose_name=_("webhook endpoint"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # 0: an assignment (reassign); 1..n: the escalation level that caused it.
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox"),
            models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["alert", "level", "channel", "recipient"],
                                    condition=Q(recipient__isnull=False),
                                    name="notification_once_per_person"),
            models.UniqueConstraint(fields=["alert", "level", "channel", "endpoint"],
                                    condition=Q(endpoint__isnull=False),
                                    name="notification_once_per_endpoint"),
            models.CheckConstraint(condition=Q(recipient__isnull=False)
                                   | Q(endpoint__isnull=False),
                                   name="notification_has_a_target"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id} L{self.level} {self.channel} → {self.target_display}"

    @property
    def target_display(self) -> str:
        return str(self.recipient or self.endpoint or "")

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and re-deliveries: receivers dedupe on it."""
        return f"mes-notification-{self.pk}"
