"""API tokens: the scopes an integration may be given, and creating/revoking keys.

A key looks like ``mes_<8 chars>_<43 chars>``: the first part is kept (to recognise a key in
lists), the whole key only as SHA-256. A 256-bit random key needs no slow hash: nobody can
guess it from its digest, and a fast digest keeps every API call cheap.
"""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.audit import audit_record, snapshot
from mes.labels import join_list
from mes.models import ApiToken, AuditEntry

KEY_PREFIX = "mes_"

# scope -> what it allows (the token's user still needs the matching role capability).
SCOPES = {
    "planning:read": gettext_lazy("Read items, BOMs, routings, orders, work orders, tasks"),
    "planning:write": gettext_lazy("Change master data and orders; explode, release, hold"),
    "execution:read": gettext_lazy("Read work reports, equipment state and downtime"),
    "execution:report": gettext_lazy("Start, report and complete tasks; issue material"),
    "quality:read": gettext_lazy("Read inspections and nonconformances"),
    "quality:write": gettext_lazy("Record inspections, decide nonconformances, accept"),
    "erp": gettext_lazy("ERP exchange: orders by ERP reference, change feed, B2MML"),
    "devices": gettext_lazy("Devices: report work and equipment states"),
    "alerts:read": gettext_lazy("Read alerts"),
    "kpi:read": gettext_lazy("Read KPI values"),
}


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_scopes(scopes) -> list[str]:
    scopes = sorted(set(scopes or []))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationError({"scopes": _("Unknown scope(s): %(list)s.") % {
            "list": join_list(unknown)}})
    if not scopes:
        raise ValidationError({"scopes": _("Give the token at least one scope.")})
    return scopes


@transaction.atomic
def api_token_create(*, actor, user, name: str, scopes, expires_at=None) -> tuple[ApiToken, str]:
    """Make a key for an integration acting as `user`. Returns (token, key): the key is never
    stored, so it must be shown now. After: one token row, audit-logged (without the digest)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Name the integration this key is for.")})
    if not user.is_active:
        raise ValidationError({"user": _("%(user)s is inactive.") % {"user": user}})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    body = secrets.token_urlsafe(32)
    prefix = f"{KEY_PREFIX}{secrets.token_hex(4)}"
    key = f"{prefix}_{body}"
    token = ApiToken(name=name[:100], user=user, scopes=_check_scopes(scopes), prefix=prefix,
                     key_hash=key_digest(key), expires_at=expires_at,
                     created_by=actor if getattr(actor, "is_authenticated", False) else None)
    token.full_clean()
    token.save()
    audit_record(actor=actor, instance=token, action=AuditEntry.Action.CREATE)
    return token, key


@transaction.atomic
def api_token_revoke(*, actor, token: ApiToken, reason: str = "") -> ApiToken:
    """Revoke a key: it stops working at once. Revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    before = snapshot(token, ["revoked_at"])
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, instance=token, action=AuditEntry.Action.TRANSITION,
                 before=before, after=snapshot(token, ["revoked_at"]), reason=reason)
    return token


def api_token_for_key(key: str) -> ApiToken | None:
    """The usable token a presented key belongs to, or None."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    token = (ApiToken.objects.select_related("user").filter(key_hash=key_digest(key)).first())
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    return token
