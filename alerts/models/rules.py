"""Alert rules, their escalation chains and the webhook endpoints notifications go to."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from alerts.kinds import THRESHOLD_FIELDS, THRESHOLDS, Kind, Scope, Severity, threshold_errors
from mes.labels import labelled
from planning.models import Line, WorkCenter, Workshop
from planning.models.common import CodedNamed


class WebhookEndpoint(models.Model):
    """Where webhook notifications go: a generic JSON receiver or a chat robot."""

    class Kind(models.TextChoices):
        GENERIC = "generic", _("generic JSON (HMAC-signed)")
        WECOM = "wecom", _("WeCom robot")
        DINGTALK = "dingtalk", _("DingTalk robot")
        FEISHU = "feishu", _("Feishu robot")

    name = models.CharField(_("Name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.GENERIC)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("secret"), max_length=200, blank=True,
        help_text=_("Generic: the HMAC-SHA256 key. DingTalk and Feishu: the robot's signing "
                    "secret. WeCom robots have none (the key is in the URL)."))
    timeout_seconds = models.PositiveSmallIntegerField(
        _("timeout (s)"), default=5,
        help_text=_("A slow receiver is given up after this long and retried later."))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    audit_exclude = ("secret",)  # never copied into the audit log

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]
        constraints = [models.CheckConstraint(
            condition=Q(timeout_seconds__gte=1) & Q(timeout_seconds__lte=30),
            name="webhook_timeout_1_to_30")]

    def __str__(self) -> str:
        return self.name


class AlertRule(CodedNamed):
    """One watched condition (kind + thresholds) in a scope, with its severity and chain."""

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices,
                                default=Severity.WARNING)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices,
                             default=Scope.PLANT)
    workshop = models.ForeignKey(Workshop, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("workshop"))
    line = models.ForeignKey(Line, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", verbose_name=_("line"))
    work_center = models.ForeignKey(WorkCenter, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("work center"))
    # Typed thresholds; which ones a kind uses is in alerts.kinds.THRESHOLDS.
    minutes = models.IntegerField(_("minutes"), null=True, blank=True)
    percent = models.DecimalField(_("percent"), max_digits=6, decimal_places=2, null=True,
                                  blank=True)
    window_hours = models.DecimalField(_("window (hours)"), max_digits=7, decimal_places=2,
                                       null=True, blank=True)
    min_quantity = models.DecimalField(_("minimum quantity"), max_digits=14, decimal_places=4,
                                       null=True, blank=True)
    auto_resolve = models.BooleanField(
        _("resolve automatically"), default=True,
        help_text=_("Resolve the alert by itself when its condition clears (kinds with a "
                    "lasting condition only)."))
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta(CodedNamed.Meta):
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__isnull=True) | Q(minutes__gte=0),
                                   name="alert_rule_minutes_not_negative"),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(percent__gte=0) & Q(percent__lte=100)),
                name="alert_rule_percent_0_100"),
            models.CheckConstraint(condition=Q(window_hours__isnull=True)
                                   | Q(window_hours__gt=0), name="alert_rule_window_positive"),
        ]

    def clean(self):
        errors = threshold_errors(self.kind, **{f: getattr(self, f) for f in THRESHOLD_FIELDS})
        needed = {Scope.WORKSHOP: "workshop", Scope.LINE: "line",
                  Scope.WORK_CENTER: "work_center"}.get(self.scope)
        if needed and getattr(self, f"{needed}_id") is None:
            errors[needed] = _("Pick the %(what)s this rule watches.") % {
                "what": self._meta.get_field(needed).verbose_name}
        if errors:
            raise ValidationError(errors)

    def normalise(self) -> None:
        """Drop thresholds the kind does not use and scope links the scope does not use."""
        used = THRESHOLDS.get(self.kind, {})
        for name in THRESHOLD_FIELDS:
            if name not in used:
                setattr(self, name, None)
        for name, scope in (("workshop", Scope.WORKSHOP), ("line", Scope.LINE),
                            ("work_center", Scope.WORK_CENTER)):
            if self.scope != scope:
                setattr(self, name, None)

    @property
    def scope_display(self) -> str:
        target = self.workshop or self.line or self.work_center
        return labelled(self.get_scope_display(), target) if target else self.get_scope_display()


class EscalationLevel(models.Model):
    """One step of a rule's chain: when an alert is still unacknowledged `after_minutes` after
    it was raised, notify these people on these channels."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="levels",
                             verbose_name=_("rule"))
    level = models.PositiveSmallIntegerField(_("level"))
    after_minutes = models.IntegerField(
        _("after (minutes)"), default=0,
        help_text=_("Minutes after the alert was raised, while nobody has acknowledged it. "
                    "0: at once."))
    notify_responsible = models.BooleanField(
        _("responsible person"), default=False,
        help_text=_("The work order's responsible person and the work center's lead."))
    roles = models.JSONField(_("roles"), default=list, blank=True)
    people = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                    verbose_name=_("people"))
    channels = models.JSONField(_("channels"), default=list, blank=True)
    webhooks = models.ManyToManyField(WebhookEndpoint, blank=True, related_name="levels",
                                      verbose_name=_("webhook endpoints"))

    class Meta:
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        ordering = ["rule", "level"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "level"], name="escalation_level_unique"),
            models.CheckConstraint(condition=Q(after_minutes__gte=0) & Q(level__gte=1),
                                   name="escalation_level_times_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code} L{self.level} +{self.after_minutes}min"
