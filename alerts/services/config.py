"""Configuring alerts: rules with their escalation chains, and webhook endpoints.

Impossible settings are refused with the reason, naming the field or the level: negative
minutes, a percentage outside 0–100, a zero defect-rate window, levels out of order, a level
that reaches nobody, and an empty chain.
"""

import urllib.parse
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.kinds import Channel, Kind, Scope, Severity
from alerts.models import AlertRule, EscalationLevel, WebhookEndpoint
from mes.audit import audit_record, snapshot
from mes.models import AuditEntry
from mes.roles import ROLE_LABELS, WORKSHOP_LEAD
from mes.system_text import system_text

RULE_FIELDS = ("code", "name", "name_en", "active", "kind", "severity", "scope", "workshop",
               "line", "work_center", "minutes", "percent", "window_hours", "min_quantity",
               "auto_resolve", "description")
ENDPOINT_FIELDS = ("name", "kind", "url", "secret", "timeout_seconds", "active")


def chain_errors(levels: list[dict]) -> list[str]:
    """Why a chain cannot work, level by level (empty: it can)."""
    if not levels:
        return [_("The escalation chain is empty: add at least level 1 (who hears about the "
                  "alert first).")]
    errors, previous = [], None
    for index, lv in enumerate(levels, start=1):
        n = lv.get("level") or index
        if n != index:
            errors.append(_("Levels must be numbered 1, 2, 3 … in order; level %(n)s is in "
                            "place %(i)s.") % {"n": n, "i": index})
        minutes = lv.get("after_minutes")
        if minutes is None or minutes < 0:
            errors.append(_("Level %(n)s: the minutes cannot be negative or empty.") % {"n": n})
        elif previous is not None and minutes <= previous[1]:
            errors.append(_("Level %(n)s comes after %(m)s min, which is not later than level "
                            "%(p)s (%(pm)s min): levels must escalate later and later.")
                          % {"n": n, "m": minutes, "p": previous[0], "pm": previous[1]})
        if minutes is not None and minutes >= 0:
            previous = (n, minutes)
        channels = list(lv.get("channels") or [])
        unknown = [c for c in channels if c not in Channel.values]
        if unknown:
            errors.append(_("Level %(n)s: unknown channel %(c)s.") % {"n": n, "c": unknown[0]})
        bad_roles = [r for r in lv.get("roles") or [] if r not in ROLE_LABELS]
        if bad_roles:
            errors.append(_("Level %(n)s: unknown role %(r)s.") % {"n": n, "r": bad_roles[0]})
        people = lv.get("notify_responsible") or lv.get("roles") or lv.get("people")
        hooks = list(lv.get("webhooks") or [])
        if not people and not hooks:
            errors.append(_("Level %(n)s reaches nobody: tick the responsible person, or pick "
                            "a role, people or a webhook endpoint.") % {"n": n})
        if not channels:
            errors.append(_("Level %(n)s: choose at least one channel.") % {"n": n})
        if people and not {Channel.IN_APP, Channel.EMAIL} & set(channels):
            errors.append(_("Level %(n)s: people are reached in the app or by e-mail; choose "
                            "one of those channels.") % {"n": n})
        if Channel.WEBHOOK in channels and not hooks:
            errors.append(_("Level %(n)s: the webhook channel needs at least one endpoint.")
                          % {"n": n})
        if hooks and Channel.WEBHOOK not in channels:
            errors.append(_("Level %(n)s: tick the webhook channel to use the endpoints.")
                          % {"n": n})
    return [str(e) for e in errors]


def _chain_snapshot(rule: AlertRule) -> list[dict]:
    return [{"level": lv.level, "after_minutes": lv.after_minutes,
             "notify_responsible": lv.notify_responsible, "roles": lv.roles,
             "people": sorted(p.pk for p in lv.people.all()), "channels": lv.channels,
             "webhooks": sorted(w.pk for w in lv.webhooks.all())}
            for lv in rule.levels.order_by("level").prefetch_related("people", "webhooks")]


@transaction.atomic
def alert_rule_save(*, actor, rule: AlertRule | None, fields: dict, levels: list[dict],
                    reason: str = "") -> AlertRule:
    """Create or change a rule and replace its escalation chain. Nothing is written unless
    the rule and the whole chain are valid. After: one audit entry with the chain."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"not a rule field: {sorted(unknown)}")
    obj = AlertRule() if rule is None else AlertRule.objects.select_for_update().get(pk=rule.pk)
    before = None if rule is None else {**snapshot(obj), "levels": _chain_snapshot(obj)}
    old_kind = obj.kind
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.normalise()
    errors: dict = {}
    try:
        obj.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if rule is not None and obj.kind != old_kind and obj.alerts.exists():
        errors.setdefault("kind", []).append(_("This rule has raised alerts: create a new rule "
                                               "to watch something else."))
    chain = chain_errors(levels)
    if chain:
        errors["levels"] = chain
    if errors:
        raise ValidationError(errors)
    obj.save()
    EscalationLevel.objects.filter(rule=obj).delete()
    for index, lv in enumerate(levels, start=1):
        level = EscalationLevel.objects.create(
            rule=obj, level=index, after_minutes=lv["after_minutes"],
            notify_responsible=bool(lv.get("notify_responsible")),
            roles=sorted(set(lv.get("roles") or [])),
            channels=[c for c in Channel.values if c in set(lv.get("channels") or [])])
        level.people.set(lv.get("people") or [])
        level.webhooks.set(lv.get("webhooks") or [])
    audit_record(actor=actor, instance=obj,
                 action=AuditEntry.Action.CREATE if rule is None else AuditEntry.Action.UPDATE,
                 before=before, after={**snapshot(obj), "levels": _chain_snapshot(obj)},
                 reason=reason)
    return obj


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError({"url": _("Enter an http:// or https:// address.")})


@transaction.atomic
def webhook_endpoint_save(*, actor, endpoint: WebhookEndpoint | None, fields: dict,
                          reason: str = "") -> WebhookEndpoint:
    """Create or change an endpoint. On a change, an empty secret keeps the stored one."""
    unknown = set(fields) - set(ENDPOINT_FIELDS)
    if unknown:
        raise ValueError(f"not an endpoint field: {sorted(unknown)}")
    obj = WebhookEndpoint() if endpoint is None else \
        WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = None if endpoint is None else snapshot(obj)
    fields = dict(fields)
    if endpoint is not None and not fields.get("secret"):
        fields.pop("secret", None)
    for name, value in fields.items():
        setattr(obj, name, value)
    errors: dict = {}
    try:
        _check_url(obj.url)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not (1 <= (obj.timeout_seconds or 0) <= 30):
        errors["timeout_seconds"] = [_("Between 1 and 30 seconds: a receiver must not hold a "
                                       "worker longer.")]
    try:
        obj.full_clean()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, messages)
    if errors:
        raise ValidationError(errors)
    obj.save()
    audit_record(actor=actor, instance=obj,
                 action=AuditEntry.Action.CREATE if endpoint is None else
                 AuditEntry.Action.UPDATE, before=before, reason=reason)
    return obj


def webhook_endpoint_test(*, actor, endpoint: WebhookEndpoint, now=None) -> tuple[bool, str]:
    """Send a test message now (no transaction held). (ok, what happened)."""
    from alerts.channels import Message, SendError
    from alerts.channels.webhook import webhook_send

    now = now or timezone.now()
    msg = Message(key=f"mes-test-{endpoint.pk}-{int(now.timestamp())}", event="alert.test",
                  title=_("MES test message"),
                  lines=[_("%(who)s sent this test from the webhook settings.") % {
                      "who": actor}], url="", severity=Severity.INFO,
                  data={"test": True, "endpoint": endpoint.name})
    try:
        webhook_send(endpoint, msg, now)
    except SendError as exc:
        return False, str(exc)
    return True, _("Delivered: the receiver accepted the test message.")


DEFAULT_CHAIN = [
    {"after_minutes": 0, "notify_responsible": True,
     "channels": [Channel.IN_APP, Channel.EMAIL]},
    {"after_minutes": 60, "roles": [WORKSHOP_LEAD], "channels": [Channel.IN_APP, Channel.EMAIL]},
    {"after_minutes": 240, "roles": ["manager"], "channels": [Channel.IN_APP, Channel.EMAIL]},
]
DEFAULT_RULES = [
    ("SCHED-LAG", "开工滞后", "Late start", Kind.SCHEDULE_LAG, Severity.WARNING,
     {"minutes": 30}),
    ("PROGRESS-LAG", "进度滞后", "Progress lag", Kind.PROGRESS_LAG, Severity.WARNING,
     {"percent": Decimal(20)}),
    ("DUE-RISK", "交期风险", "Due-date risk", Kind.DUE_DATE_RISK, Severity.CRITICAL, {}),
    ("REPORT-OVERDUE", "报工超时", "Overdue report", Kind.OVERDUE_REPORT, Severity.WARNING,
     {"minutes": 30}),
    ("QC-FAIL", "检验不合格", "Inspection failed", Kind.INSPECTION_FAILED, Severity.WARNING, {}),
    ("DEFECT-RATE", "不良率超标", "Defect rate", Kind.DEFECT_RATE, Severity.CRITICAL,
     {"percent": Decimal(5), "window_hours": Decimal(8), "min_quantity": Decimal(20)}),
    ("REWORK-LOOPS", "返工次数超限", "Rework loops exceeded", Kind.REWORK_LOOPS,
     Severity.CRITICAL, {}),
    ("DOWNTIME", "设备停机", "Unplanned downtime", Kind.DOWNTIME, Severity.CRITICAL,
     {"minutes": 15}),
    ("PLAN-CHANGE", "计划变更", "Plan change", Kind.PLAN_CHANGE, Severity.INFO, {}),
]


def alert_rules_install_defaults(*, actor) -> list[AlertRule]:
    """A starting set aimed at answering every exception within half a day: the responsible
    person at once, the workshop leads after 1 h, the managers after 4 h. Idempotent."""
    made = []
    for code, name, name_en, kind, severity, thresholds in DEFAULT_RULES:
        if AlertRule.objects.filter(code=code).exists():
            continue
        chain = DEFAULT_CHAIN[:1] if kind == Kind.PLAN_CHANGE else DEFAULT_CHAIN
        made.append(alert_rule_save(
            actor=actor, rule=None, levels=[dict(lv) for lv in chain],
            fields={"code": code, "name": name, "name_en": name_en, "kind": kind,
                    "severity": severity, "scope": Scope.PLANT, **thresholds},
            reason=system_text("default rules")))
    return made
