"""Cross-cutting records: people and their badges, the audit log and the event outbox."""

import unicodedata

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from mes.system_text import render as render_system_text


class User(AbstractUser):
    """A person who works in the plant. Operators may never log in; they scan their badge."""

    display_name = models.CharField(_("name"), max_length=100, blank=True)
    badge_code = models.CharField(
        _("badge code"), max_length=64, unique=True, null=True, blank=True,
        help_text=_("Printed on the employee's badge and scanned at stations."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        ordering = ["username"]
        constraints = [
            # Stations read badges ignoring case ("b-op-101" is B-OP-101's badge): two badges
            # that differ only in case would be one person's to a scanner.
            models.UniqueConstraint(
                Upper("badge_code"), name="user_badge_code_unique_ignoring_case",
                violation_error_message=_(
                    "Another employee has this badge code (upper and lower case count as "
                    "the same).")),
        ]
        # Capabilities the roles are made of (see mes/roles.py). Apps check these, not groups.
        permissions = [
            ("view_planning", _("Can view plans, orders and master data")),
            ("manage_planning", _("Can change plans, orders and master data")),
            ("report_work", _("Can report work at stations")),
            ("view_execution", _("Can view stations and dispatch lists")),
            ("inspect_quality", _("Can record inspections and nonconformances")),
            ("approve_quality", _("Can approve use-as-is and re-open archives")),
            ("accept_work", _("Can accept finished work orders")),
            ("handle_alerts", _("Can acknowledge and resolve alerts")),
            ("configure_alerts", _("Can configure alert rules")),
            ("view_dashboards", _("Can view boards and KPI pages")),
            ("view_audit", _("Can browse the audit log")),
            ("manage_users", _("Can manage employees and roles")),
            ("correct_downtime", _("Can correct recorded downtime")),
        ]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def clean(self):
        super().clean()
        # As a scanner sends it (full-width characters typed on a Chinese keyboard as
        # ASCII, no spaces around); an empty code is no badge.
        code = unicodedata.normalize("NFKC", self.badge_code or "").strip()
        self.badge_code = code or None

    @property
    def role_names(self) -> list[str]:
        return sorted(g.name for g in self.groups.all())


class AuditEntry(models.Model):
    """One change to one record: who, when, what (before/after) and why. Never updated."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        TRANSITION = "transition", _("state changed")
        DELETE = "delete", _("deleted")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("who"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    actor_repr = models.CharField(_("who"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    # Indexed by (content_type, object_id, -at) below: every change writes one index less.
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("record type"), on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    object_id = models.CharField(_("record id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    changed_fields = models.JSONField(_("changed fields"), default=list, blank=True)
    reason = models.TextField(_("why"), blank=True)
    # When the system chose the words: their message id and parameters (mes.system_text), so
    # each reader sees them in their own language; `reason` keeps the writer's.
    reason_key = models.JSONField(_("why (message)"), null=True, blank=True, editable=False)
    request_id = models.CharField(_("request"), max_length=36, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_repr} {self.action} {self.object_repr}"

    @property
    def reason_shown(self) -> str:
        """Why, as a reader sees it: the system's words in their language."""
        if self.reason_key is None:
            return self.reason
        return render_system_text(self.reason_key, self.reason)

    @property
    def actor_shown(self) -> str:
        """Who, as a reader sees it: the system (no signed-in person) in their language."""
        return actor_label(self.actor_repr, self.actor_id)

    @property
    def record_type(self) -> str:
        """The kind of record changed, in the reader's language."""
        model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        return capfirst(model._meta.verbose_name) if model else ""

    @property
    def changed_labels(self) -> list[str]:
        """The changed fields, by their names in the reader's language."""
        model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        return [field_label(model, name) for name in self.changed_fields or []]


SYSTEM_ACTOR = "system"  # actor_repr of a change nobody signed in made (a sweep, a worker)
# Keys an audit entry may hold besides its model's fields (an explosion's counts).
EXTRA_LABELS = {"levels": _("levels"), "tasks": _("tasks"), "work_orders": _("work orders"),
                "role": _("Role")}  # (a demo account's creation names its role)


def actor_label(actor_repr: str, actor_id=None) -> str:
    if actor_repr == SYSTEM_ACTOR and actor_id is None:
        return str(_("system"))
    return actor_repr


def field_label(model, name: str) -> str:
    """A field name of `model` as a reader sees it: its verbose name, capitalised."""
    try:
        field = model._meta.get_field(name) if model is not None else None
    except FieldDoesNotExist:
        field = None
    if field is not None and hasattr(field, "verbose_name") and not (
            field.auto_created and not field.concrete):
        return capfirst(str(field.verbose_name))
    if name in EXTRA_LABELS:
        return capfirst(str(EXTRA_LABELS[name]))
    return capfirst(name.replace("_", " "))


class Event(models.Model):
    """Append-only outbox: written in the same transaction as the change it announces.

    Live pages stream it (SSE, resuming from Last-Event-ID) and background work reads it.
    The id is the stream position, so it must only ever grow.
    """

    topic = models.CharField(max_length=100, db_index=True)
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.id} {self.topic} {self.kind}"


# --- Integration: API tokens and outgoing webhooks (mes/api/, mes/webhooks.py) ---------------
class ApiToken(models.Model):
    """A per-integration API key (ERP, a device, a script). Acts as `user`, limited to `scopes`:
    a request needs both the token's scope and the user's role capability.

    Only a SHA-256 of the key is stored; the key itself is shown once, when it is created.
    """

    name = models.CharField(_("Name"), max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens", verbose_name=_("acts as"))
    scopes = models.JSONField(_("scopes"), default=list)
    prefix = models.CharField(_("key starts with"), max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    audit_exclude = ("key_hash",)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None
                                            or self.expires_at > timezone.now())


class WebhookSubscription(models.Model):
    """An outside system told about chosen outbox events (order released, work order accepted,
    alert raised…), by a signed HTTP POST per event."""

    name = models.CharField(_("Name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=100)
    kinds = models.JSONField(_("events"), default=list)
    active = models.BooleanField(_("active"), default=True)
    # The outbox position this subscription has been matched up to (gap-safe, mes.stream).
    cursor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))

    audit_exclude = ("secret",)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one subscription. Exactly one row per pair."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("sending")
        DELIVERED = "delivered", _("delivered")
        RETRYING = "retrying", _("will retry")
        FAILED = "failed", _("failed")

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE,
                                     related_name="deliveries",
                                     verbose_name=_("subscription"))
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("event"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event"],
                                               name="webhook_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.subscription} ← #{self.event_id} {self.status}"
