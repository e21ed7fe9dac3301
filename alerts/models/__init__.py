"""Alert records: rules and escalation chains, alerts, comments, notifications."""

from alerts.models.alerts import Alert, AlertComment, Notification  # noqa: F401
from alerts.models.rules import AlertRule, EscalationLevel, WebhookEndpoint  # noqa: F401
