"""Security: the permission matrix over every named URL, login everywhere, CSRF, per-person
scoping, separation of duties on use-as-is, login throttling, upload checks, no secrets in git.

The matrix reads what each view declares (CapabilityRequiredMixin.capability, the quality
views' `capabilities`, the API's `access`, or the capability check a function view makes
first) and asserts that exactly the roles with that capability get through: a view that
declares nothing fails the test unless it is listed as open to every signed-in person.
"""

import ast
import inspect
import io
import logging
import re
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mes.generic import CapabilityRequiredMixin
from mes.roles import ADMIN, MANAGER, ROLE_CAPABILITIES
from mes.throttle import failure_limit, lock_seconds, login_throttle_reset, throttled_message
from quality.models import Inspection, Nonconformance
from quality.services.nonconformance import nonconformance_disposition
from tests.conftest import ARTIFACTS, ROOT, subprocess_env
from tests.factories import PASSWORD
from tests.factories_hardening import ROLES, security_world
from tests.factories_quality import DefectCodeFactory, measured_plan, pending_inspection
from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"  # assertions read the English texts

# Pages every signed-in person may open (their own home, inbox, language, the live demo…).
OPEN = {"home", "whoami", "live", "live_events", "live_post", "logout", "alerts:index",
        "planning:index", "execution:index", "quality:index", "dashboards:index",
        "alerts:inbox", "alerts:notify_badge", "api:docs", "api:schema", "api:api-root",
        "alerts:notification_open"}
# Reachable without signing in.
PUBLIC = {"login", "healthz", "set_language", "favicon"}
# Not requested by the matrix, with the reason.
NOT_IN_MATRIX = {
    "events_stream": "an endless SSE response; its per-person topics are tested in test_roles",
    "logout": "signs the matrix's user out",
    "set_language": "public, no record",
}
PROJECT_APPS = ("mes", "planning", "execution", "quality", "alerts", "dashboards")


# --- what each view declares ----------------------------------------------------------------
class Need:
    """One check: any of `caps`, or (roles) one of `roles`."""

    def __init__(self, caps=(), roles=(), where=""):
        self.caps, self.roles, self.where = frozenset(caps), frozenset(roles), where

    def allows(self, role: str) -> bool:
        if self.roles:
            return role in self.roles
        return bool(self.caps & set(ROLE_CAPABILITIES[role]))

    def __repr__(self):
        return f"roles {sorted(self.roles)}" if self.roles else "/".join(sorted(self.caps))


def _calls(fn) -> list[Need]:
    """The capability checks a function (or method) of ours makes, read from its source."""
    fn = inspect.unwrap(fn)
    module = inspect.getmodule(fn)
    if module is None or not module.__name__.startswith(PROJECT_APPS):
        return []
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    needs = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name == "_require" and len(node.args) == 2:
            needs.append(Need({ast.literal_eval(node.args[1])}, where=fn.__qualname__))
        elif name == "require_any" and len(node.args) == 2:
            caps = eval(compile(ast.Expression(node.args[1]), "<cap>", "eval"),  # noqa: S307
                        vars(module))
            needs.append(Need(caps, where=fn.__qualname__))
        elif name == "require_target_editor":
            needs.append(Need(roles={MANAGER, ADMIN}, where=fn.__qualname__))
    return needs


def declared(callback, method: str) -> list[Need] | None:
    """Every check the view makes for `method`; None when the method is not served."""
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if cls is None:
        return _calls(callback)
    if hasattr(cls, "access"):  # the API: {action: (scopes, capability)}
        action = (getattr(callback, "actions", None) or {}).get(method.lower())
        entry = cls.access.get(action) or cls.access.get("read" if method == "GET" else "write")
        if entry is None:
            return None
        return [Need({entry[1]}, where=cls.__name__)] if entry[1] else []
    needs = []
    if getattr(cls, "capabilities", None):  # the any-of mixins (quality, travelers)
        needs.append(Need(cls.capabilities, where=cls.__name__))
    elif issubclass(cls, CapabilityRequiredMixin) and cls.capability:
        needs.append(Need({cls.capability}, where=cls.__name__))
    for name in ("dispatch", method.lower()):
        handler = getattr(cls, name, None)
        if handler is not None:
            needs += _calls(handler)
    return needs


def served_method(callback) -> str:
    """GET when the view serves GET (a page), else POST (an action)."""
    cls = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    actions = getattr(callback, "actions", None)
    if actions is not None:  # an API viewset route
        return "GET" if "get" in actions else "POST"
    if cls is not None:
        return "GET" if "get" in cls.http_method_names and hasattr(cls, "get") else "POST"
    source = inspect.getsource(callback)
    return "POST" if re.search(r"@require_POST|@require_http_methods\(\[\"POST\"\]\)",
                               source) else "GET"


def named_patterns():
    """(full url name, pattern, callback) for every named URL of the project (not admin's)."""
    def walk(patterns, ns):
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = ":".join(x for x in (ns, p.namespace) if x) or None
                if p.namespace != "admin":
                    yield from walk(p.url_patterns, inner)
            elif isinstance(p, URLPattern) and p.name:
                yield (f"{ns}:{p.name}" if ns else p.name), p
    return list(walk(get_resolver().url_patterns, None))


def url_kwargs(world) -> dict:
    """Arguments for every URL that takes some, from the world's records."""
    w = world
    wo, order, wc, item = w["wo"], w["order"], w["wc"], w["item"]
    bom = item.bom_versions.first()
    line = bom.lines.first() if bom else None
    routing = item.routings.first()
    step = routing.steps.first()
    from planning.models import ScheduleVersion  # noqa: PLC0415 - the world made it

    version = ScheduleVersion.objects.first()
    result = w["result"]
    pk = {
        "planning:site_detail": wc.line.workshop.site, "planning:site_edit": wc.line.workshop.site,
        "planning:site_delete": wc.line.workshop.site,
        "planning:workshop_detail": wc.line.workshop, "planning:workshop_edit": wc.line.workshop,
        "planning:workshop_delete": wc.line.workshop,
        "planning:line_detail": wc.line, "planning:line_edit": wc.line,
        "planning:line_delete": wc.line,
        "planning:work_center_detail": wc, "planning:work_center_edit": wc,
        "planning:work_center_delete": wc,
        "planning:equipment_detail": w["equipment"], "planning:equipment_edit": w["equipment"],
        "planning:equipment_delete": w["equipment"],
        "planning:calendar_detail": w["shift"].calendar,
        "planning:calendar_edit": w["shift"].calendar,
        "planning:calendar_delete": w["shift"].calendar,
        "planning:shift_edit": w["shift"], "planning:shift_delete": w["shift"],
        "planning:holiday_edit": w["holiday"], "planning:holiday_delete": w["holiday"],
        "planning:item_detail": item, "planning:item_edit": item, "planning:item_delete": item,
        "planning:item_bom_tree": item, "planning:item_where_used": item,
        "planning:bom_detail": bom, "planning:bom_edit": bom, "planning:bom_delete": bom,
        "planning:bom_line_edit": line, "planning:bom_line_delete": line,
        "planning:routing_detail": routing, "planning:routing_edit": routing,
        "planning:routing_delete": routing,
        "planning:routing_step_edit": step, "planning:routing_step_delete": step,
        "planning:order_detail": order, "planning:order_edit": order,
        "planning:order_change": order, "planning:traveler_batch": order,
        "planning:work_order_detail": wo, "planning:traveler": wo,
        "planning:schedule_version": version, "planning:schedule_version_card": version,
        "planning:schedule_version_apply": version, "planning:schedule_version_discard": version,
        "planning:schedule_task": w["tasks"][0], "planning:schedule_task_pin": w["tasks"][0],
        "planning:schedule_task_unpin": w["tasks"][0],
        "quality:inspection_detail": w["inspection"], "quality:record": w["inspection"],
        "quality:result_photo": result, "quality:nc_detail": w["nc"],
        "quality:nc_disposition": w["nc"], "quality:acceptance": w["archive"].work_order,
        "quality:accept": w["archive"].work_order, "quality:reject": w["archive"].work_order,
        "quality:archive_detail": w["archive"], "quality:archive_json": w["archive"],
        "quality:archive_xlsx": w["archive"], "quality:archive_reopen": w["archive"],
        "quality:archive_of_work_order": w["archive"].work_order,
        "quality:trace_work_order": wo, "quality:plan_detail": w["plan"],
        "quality:plan_edit": w["plan"],
        "quality:characteristic_row": w["plan"].characteristics.first(),
        "quality:characteristic_edit": w["plan"].characteristics.first(),
        "quality:characteristic_delete": w["plan"].characteristics.first(),
        "quality:defect_edit": w["defect"],
        "execution:downtime_detail": w["downtime"],
        "alerts:alert_detail": w["alert"], "alerts:notification_open": w["notification"],
        "alerts:rule_edit": w["rule"], "alerts:webhook_edit": w["endpoint"],
        "alerts:webhook_test": w["endpoint"],
        "api:token_revoke": w["token"], "api:webhook_toggle": w["subscription"],
        "api:webhook_retry": w["delivery"],
        "api:item-detail": item, "api:bom-version-detail": bom, "api:bom-line-detail": line,
        "api:routing-detail": routing, "api:routing-step-detail": step,
        "api:production-order-detail": order, "api:production-order-explode": order,
        "api:production-order-release": order,
        "api:task-detail": w["tasks"][0], "api:task-complete": w["tasks"][0],
        "api:task-pause": w["tasks"][0], "api:task-resume": w["tasks"][0],
        "api:task-start": w["tasks"][0],
        "api:work-report-detail": wo.tasks.first().reports.first(),
        "api:inspection-detail": w["inspection"], "api:inspection-record": w["inspection"],
        "api:nonconformance-detail": w["nc"], "api:nonconformance-disposition": w["nc"],
        "api:alert-detail": w["alert"],
    }
    absent = sorted(name for name, obj in pk.items() if obj is None)
    assert not absent, f"the world lacks records for {absent}"
    out = {name: {"pk": obj.pk} for name, obj in pk.items()}
    for name in ("shift_add", "holiday_add"):
        out[f"planning:{name}"] = {"parent_pk": w["shift"].calendar.pk}
    out["planning:bom_add"] = out["planning:routing_add"] = {"parent_pk": item.pk}
    out["planning:bom_line_add"] = {"parent_pk": bom.pk}
    out["planning:routing_step_add"] = {"parent_pk": routing.pk}
    out["planning:order_action"] = {"pk": order.pk, "action": "explode"}
    out["planning:work_order_action"] = {"pk": wo.pk, "action": "hold"}
    out["planning:io_template"] = out["planning:io_export"] = {"kind": "items", "fmt": "csv"}
    out["quality:characteristic_add"] = {"plan_pk": w["plan"].pk}
    for name in ("station", "station_dispatch", "station_task_panel", "station_equipment",
                 "station_scan", "station_operator_clear", "station_report",
                 "station_material", "station_equipment_state"):
        out[f"execution:{name}"] = {"code": wc.code}
    out["execution:station_task_action"] = {"code": wc.code, "action": "start"}
    out["alerts:alert_action"] = {"pk": w["alert"].pk, "action": "acknowledge"}
    out["dashboards:kpi_detail"] = {"key": "on_time"}
    out["dashboards:kpi_records"] = {"key": "on_time", "part": "numerator"}
    out["api:erp-order"] = {"erp_ref": w["order"].erp_ref}
    for name in ("detail", "accept", "cancel", "hold", "reject", "release-one", "resume"):
        out[f"api:work-order-{name}"] = {"number": wo.number}
    out["api:equipment-detail"] = out["api:equipment-state"] = {"code": w["equipment"].code}
    out["api:downtime-detail"] = {"pk": w["downtime"].pk}
    out["api:material-issue-detail"] = {"pk": w["consumption"].pk}
    return out


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # the world's inspection photo
    return security_world()


def _get_kwargs(world, name, pattern):
    if not pattern.pattern.converters and not pattern.pattern.regex.groupindex:
        return {}
    return url_kwargs(world).get(name)


def test_permission_matrix(world, client):
    """Every role × every named URL: allowed (2xx/3xx, or a refusal of the empty form) or 403,
    as the view's declared capability says. GET where the view serves GET (all of a role's
    GETs before any POST, so nothing is changed underneath); POST for POST-only actions."""
    kwargs = url_kwargs(world)
    rows, undeclared, missing_args = [], [], []
    for name, pattern in named_patterns():
        if name in NOT_IN_MATRIX or name in PUBLIC:
            continue
        takes_args = bool(pattern.pattern.regex.groupindex)
        if takes_args and name not in kwargs:
            missing_args.append(name)
            continue
        url = reverse(name, kwargs=kwargs.get(name) if takes_args else None)
        rows.append((name, url, pattern.callback))
    assert not missing_args, f"add these URLs to url_kwargs(): {missing_args}"

    plan = []  # (name, url, method, needs)
    for name, url, callback in rows:
        method = served_method(callback)
        needs = declared(callback, method)
        if not needs and name not in OPEN:
            undeclared.append(name)
        plan.append((name, url, method, needs))
    assert not undeclared, (
        f"these views declare no capability and are not listed as open: {undeclared}")

    wrong, matrix = [], {}
    for role in ROLES:
        client.force_login(world["people"][role])
        for name, url, method, needs in sorted(plan, key=lambda r: r[2]):  # GETs first
            expected = all(n.allows(role) for n in needs)
            if name == "alerts:notification_open":
                expected = world["notification"].recipient_id == world["people"][role].pk
            response = client.get(url) if method == "GET" else client.post(url, {})
            code = response.status_code
            ok = (code != 403 and code < 500 and (method == "POST" or code not in (404, 405))) \
                if expected else code in (403, 404 if name == "alerts:notification_open"
                                          else 403)
            matrix.setdefault((name, method, repr(needs)), {})[role] = code
            if not ok:
                wrong.append(f"{role} {method} {url} ({name}, needs {needs}): {code}, "
                             f"expected {'allowed' if expected else 403}")
    lines = [f"permission matrix: {len(matrix)} URLs × {len(ROLES)} roles (HTTP status)",
             f"{'url name':42} {'method':6} {'needs':42} " + " ".join(r[:7] for r in ROLES)]
    lines += [f"{name:42} {method:6} {needs[:42]:42} "
              + " ".join(f"{codes[r]:>7}" for r in ROLES)
              for (name, method, needs), codes in sorted(matrix.items())]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "permission-matrix.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))  # shown with -s or -rP; kept in artifacts/permission-matrix.txt
    assert not wrong, "\n".join(wrong)
    # the matrix cannot pass vacuously: every role was refused somewhere and let in somewhere
    for role in ROLES[:-1]:
        codes = [c[role] for c in matrix.values()]
        assert 403 in codes and any(c < 400 for c in codes), role
    assert len(matrix) > 150


def test_anonymous_is_sent_to_login_everywhere(world, client):
    kwargs = url_kwargs(world)
    login = reverse("login")
    leaks = []
    for name, pattern in named_patterns():
        if name in PUBLIC:
            continue
        takes_args = bool(pattern.pattern.regex.groupindex)
        url = reverse(name, kwargs=kwargs.get(name) if takes_args else None)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            code = response.status_code
            to_login = code == 302 and response["Location"].startswith(login)
            # The API answers (401/403) rather than redirecting a program to a login page.
            if not (to_login or (name.startswith("api:") and code in (401, 403))):
                leaks.append(f"{method.upper()} {url}: {code}")
    assert not leaks, "\n".join(leaks)
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("favicon")).status_code == 301
    assert client.get(login).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 302
    assert client.get("/static/mes/mes.css").status_code == 200


def test_csrf_is_enforced_on_forms_and_station_posts(world):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world["people"]["admin"])
    wc = world["wc"]
    for url in (reverse("planning:order_add"), reverse("execution:station_report",
                                                        args=[wc.code]),
                reverse("quality:nc_disposition", args=[world["nc"].pk]), reverse("logout")):
        assert c.post(url, {}).status_code == 403, url


def test_people_cannot_read_each_others_notifications(world, client):
    """Scoping: notifications are per person; no page scopes records by workshop (every
    workshop's records are visible to every role that may see the kind of record)."""
    n = world["notification"]
    other = world["people"]["manager"]
    assert n.recipient_id != other.pk
    client.force_login(other)
    assert client.get(reverse("alerts:notification_open", args=[n.pk])).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None
    assert client.get(reverse("events_stream"), {"topics": f"user:{n.recipient_id}"}
                      ).status_code == 403


# --- separation of duties: use as is ----------------------------------------------------------
@pytest.fixture
def open_nc(make_user):
    op = make_user("operator", username="scrapper")
    qc = make_user("qc_inspector", username="qc_sod")
    plan = measured_plan(code="IP-SOD")
    defect = DefectCodeFactory(code="D-SOD")
    insp, _wo, _tasks, _wc = pending_inspection(plan, op, qty="5")
    from tests.factories_alerts import measure

    measure(insp, qc, "10.4", qty_failed="2", defect_code=defect)
    nc = Nonconformance.objects.get(inspection=insp)
    assert nc.operator == op
    return nc, op


def test_operator_cannot_approve_use_as_is_of_their_own_scrap_service(open_nc):
    nc, op = open_nc
    with pytest.raises(PermissionDenied):
        nonconformance_disposition(actor=op, nonconformance=nc, disposition="use_as_is",
                                   reason="looks fine to me")
    nc.refresh_from_db()
    assert nc.disposition == Nonconformance.Disposition.PENDING and nc.approved_by is None


def test_operator_cannot_approve_use_as_is_of_their_own_scrap_view(open_nc, client):
    nc, op = open_nc
    client.force_login(op)
    url = reverse("quality:nc_disposition", args=[nc.pk])
    response = client.post(url, {"disposition": "use_as_is", "reason": "fine"})
    assert response.status_code == 403
    nc.refresh_from_db()
    assert nc.status == Nonconformance.Status.OPEN and nc.disposition == "pending"


def test_qc_inspector_cannot_approve_use_as_is_either_but_a_manager_can(open_nc, client,
                                                                        make_user):
    nc, _op = open_nc
    qc = Inspection.objects.get(pk=nc.inspection_id).inspector
    client.force_login(qc)
    url = reverse("quality:nc_disposition", args=[nc.pk])
    response = client.post(url, {"disposition": "use_as_is", "reason": "fine"})
    assert response.status_code == 403
    assert "approver" in response.content.decode()
    manager = make_user("manager", username="approver")
    client.force_login(manager)
    response = client.post(url, {"disposition": "use_as_is", "reason": "within customer's "
                                                                          "concession"})
    assert response.status_code == 302
    nc.refresh_from_db()
    assert nc.disposition == "use_as_is" and nc.approved_by == manager


# --- login throttling -------------------------------------------------------------------------
@pytest.fixture
def address():
    """A client address of its own, forgotten afterwards (the cache may be shared)."""
    ip = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    yield ip
    login_throttle_reset(address=ip)


def _login(client, username, password, ip):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def test_login_is_refused_after_five_failures_for_a_username(make_user, client, address):
    user = make_user("operator", username=f"thr_{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(failure_limit() - 1):
            assert _login(client, user.username, "wrong", address).status_code == 200
        refused = _login(client, user.username, "wrong", address)
        assert refused.status_code == 429
        text = refused.content.decode()
        assert "Too many failed sign-ins" in text and "15 more minute" in text
        # even the right password is refused now, from any address
        again = _login(client, user.username, PASSWORD, "203.0.113.99")
        assert again.status_code == 429
        assert "_auth_user_id" not in client.session
    finally:
        login_throttle_reset(username=user.username, address="203.0.113.99")


def test_login_is_refused_after_five_failures_from_one_address(make_user, client, address):
    victim = make_user("planner", username=f"thr_{uuid.uuid4().hex[:6]}")
    for n in range(failure_limit()):
        _login(client, f"guess{n}", "wrong", address)
    response = _login(client, victim.username, PASSWORD, address)
    assert response.status_code == 429
    # another address is not affected, and the username was never locked
    ok = _login(client, victim.username, PASSWORD, "192.0.2.200")
    assert ok.status_code == 302
    login_throttle_reset(address="192.0.2.200")


def test_a_success_clears_the_username_count(make_user, client, address):
    user = make_user("planner", username=f"thr_{uuid.uuid4().hex[:6]}")
    for _ in range(failure_limit() - 1):
        _login(client, user.username, "wrong", address)
    assert _login(client, user.username, PASSWORD, address).status_code == 302
    client.logout()
    login_throttle_reset(address=address)  # the address keeps its count; forget it here
    for _ in range(failure_limit() - 1):
        assert _login(client, user.username, "wrong", address).status_code == 200


def test_the_lock_ends_after_its_time(make_user, client, address, settings):
    settings.MES_LOGIN_LOCK_SECONDS = 1
    user = make_user("planner", username=f"thr_{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(failure_limit()):
            _login(client, user.username, "wrong", address)
        assert _login(client, user.username, PASSWORD, address).status_code == 429
        time.sleep(1.2)
        assert _login(client, user.username, PASSWORD, address).status_code == 302
    finally:
        login_throttle_reset(username=user.username)


def test_throttled_message_is_in_chinese_too(make_user, client, address):
    user = make_user("planner", username=f"thr_{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(failure_limit()):
            _login(client, user.username, "wrong", address)
        response = client.post(reverse("login"), {"username": user.username, "password": "x"},
                               REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 429
        assert 'data-testid="login-throttled"' in response.content.decode()
    finally:
        login_throttle_reset(username=user.username)


# Another web process, as a second uvicorn worker would be: same settings, same cache.
OTHER_PROCESS = """
import sys, django
django.setup()
from mes.throttle import locked_seconds, login_failure_record
if sys.argv[1] == "fail":
    login_failure_record(sys.argv[2], sys.argv[3])
print(locked_seconds(sys.argv[2], sys.argv[3]))
"""


def _in_other_process(action: str, username: str, address: str) -> int:
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", OTHER_PROCESS, action, username, address], cwd=ROOT,
        env=subprocess_env(), capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)  # the other process must see what this one wrote
def test_failed_sign_ins_are_counted_across_processes(make_user, client, address):
    """With two web processes the limit is still five, not five per process: the counts and
    the lock live in the shared cache (the database, or Redis when REDIS_URL is set)."""
    user = make_user("planner", username=f"thr_{uuid.uuid4().hex[:6]}")
    try:
        for _ in range(failure_limit() - 1):
            assert _login(client, user.username, "wrong", address).status_code == 200
        # The last failure allowed is made through the other process: it reaches the limit
        # only if it sees the four counted here, and then it locks the username.
        assert _in_other_process("fail", user.username, "192.0.2.77") > 0
        refused = _login(client, user.username, PASSWORD, "203.0.113.7")
        assert refused.status_code == 429
        assert "_auth_user_id" not in client.session
        # and a fresh process sees the lock, from any address
        assert _in_other_process("check", user.username, "192.0.2.78") > 0
    finally:
        login_throttle_reset(username=user.username, address="192.0.2.77")
        login_throttle_reset(address="203.0.113.7")


def test_sign_in_still_works_when_the_cache_is_down(make_user, client, settings, caplog):
    """Fail open: with Redis unreachable the password alone decides, and a warning says why
    nobody is being counted."""
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}
    user = make_user("planner", username=f"thr_{uuid.uuid4().hex[:6]}")
    with caplog.at_level(logging.WARNING, logger="mes.throttle"):
        for _ in range(failure_limit() + 1):  # nothing is counted: never locked
            wrong = _login(client, user.username, "wrong", "198.51.100.251")
            assert wrong.status_code == 200
            assert "password didn't match" in wrong.content.decode()
        ok = _login(client, user.username, PASSWORD, "198.51.100.251")
    assert ok.status_code == 302 and "_auth_user_id" in client.session
    warnings = [r for r in caplog.records if r.name == "mes.throttle"]
    assert warnings and all(r.levelno == logging.WARNING for r in warnings)
    assert "cache is unavailable" in warnings[0].getMessage()


def test_admin_sign_in_is_throttled_with_the_main_login_message(make_user, client, address):
    admin_user = make_user("admin", username=f"adm_{uuid.uuid4().hex[:6]}", is_staff=True,
                           is_superuser=True)
    url = reverse("admin:login")
    message = throttled_message(lock_seconds())
    try:
        for _ in range(failure_limit() - 1):
            r = client.post(url, {"username": admin_user.username, "password": "wrong"},
                            REMOTE_ADDR=address)
            assert r.status_code == 200 and message not in r.content.decode()
        r = client.post(url, {"username": admin_user.username, "password": "wrong"},
                        REMOTE_ADDR=address)
        assert message in r.content.decode()
        # even the right password, from elsewhere, on either sign-in page
        r = client.post(url, {"username": admin_user.username, "password": PASSWORD},
                        REMOTE_ADDR="203.0.113.98")
        assert message in r.content.decode() and "_auth_user_id" not in client.session
        main = _login(client, admin_user.username, PASSWORD, "203.0.113.98")
        assert main.status_code == 429 and message in main.content.decode()
    finally:
        login_throttle_reset(username=admin_user.username, address="203.0.113.98")


# --- uploads ----------------------------------------------------------------------------------
def _png_or(fmt="PNG", size=(8, 8)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, fmt)
    return out.getvalue()


def _png() -> bytes:
    return _png_or("PNG")


@pytest.fixture
def recording(make_user, client):
    op = make_user("operator", username="op_up")
    qc = make_user("qc_inspector", username="qc_up")
    plan = measured_plan(code="IP-UP")
    insp, *_ = pending_inspection(plan, op, qty="3")
    ch = plan.characteristics.get()
    client.force_login(qc)
    return client, insp, ch


def _record(client, insp, ch, upload):
    return client.post(reverse("quality:record", args=[insp.pk]),
                       {f"c{ch.pk}": "10.0", f"photo_c{ch.pk}": upload})


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("notes.txt", b"just text, not a picture", "not an image"),
    ("evil.png", b"<script>alert(1)</script>", "not an image"),
    ("anim.gif", "GIF", "JPEG, PNG or WebP"),  # a real image, of a kind not accepted
])
def test_inspection_photo_must_be_an_image(recording, name, content, reason):
    client, insp, ch = recording
    if content == "GIF":
        content = _png_or("GIF")
    response = _record(client, insp, ch, SimpleUploadedFile(name, content))
    assert response.status_code in (400, 422)
    assert reason in response.content.decode()
    insp.refresh_from_db()
    assert insp.status == Inspection.Status.PENDING and not insp.results.exists()


def test_oversized_photo_is_refused(recording):
    client, insp, ch = recording
    big = _png() + b"\0" * (8 * 1024 * 1024 + 1)
    response = _record(client, insp, ch, SimpleUploadedFile("big.png", big))
    assert response.status_code in (400, 422)
    assert "8 MB" in response.content.decode()
    insp.refresh_from_db()
    assert insp.status == Inspection.Status.PENDING


def test_photo_is_served_as_an_image_whatever_its_name(recording, settings, tmp_path):
    """A valid image uploaded as `x.html` must not come back as HTML (stored XSS)."""
    settings.MEDIA_ROOT = tmp_path
    client, insp, ch = recording
    response = _record(client, insp, ch, SimpleUploadedFile("x.html", _png(),
                                                            content_type="text/html"))
    assert response.status_code == 302, response.content.decode()[:500]
    result = insp.results.get()
    served = client.get(reverse("quality:result_photo", args=[result.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] in ("image/png", "application/octet-stream")
    assert served.get("X-Content-Type-Options") == "nosniff"


# --- secrets ----------------------------------------------------------------------------------
SECRET_PATTERNS = [
    re.compile(r"-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    re.compile(r"AKIA[0-9A-Z]{16}"),                                   # AWS access key id
    re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"),                         # GitHub tokens
    re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"),                       # Slack tokens
    re.compile(r"sk_live_[0-9a-zA-Z]{16,}"),                           # Stripe live keys
    re.compile(r"django-insecure-[^\"'\s]{20,}"),                      # startproject's key
    re.compile(r"""SECRET_KEY\s*=\s*["'][^"']{16,}["']"""),            # a hard-coded key
]


def test_no_secrets_in_tracked_files():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    files = [f for f in listed.stdout.decode().split("\0") if f]
    assert files
    assert not any(f.startswith("var/") or f.endswith(("secret_key", ".env")) for f in files)
    hits = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "ignore")
        for pattern in SECRET_PATTERNS:
            for match in pattern.finditer(text):
                hits.append(f"{name}: {match.group(0)[:40]}")
    assert not hits, "\n".join(hits)


def test_secret_key_comes_from_the_environment_or_var():
    source = (ROOT / "mes" / "settings.py").read_text()
    assert 'os.environ["SECRET_KEY"]' in source and 'VAR_DIR / "secret_key"' in source


def test_an_approver_cannot_release_units_they_made_themselves(make_user):
    """Four eyes: someone with both roles (or an administrator) who reported the units may
    not approve them for use as is; another approver may."""
    both = make_user("operator", "manager", username="op_and_boss")
    qc = make_user("qc_inspector", username="qc_4eyes")
    plan = measured_plan(code="IP-4EYES")
    defect = DefectCodeFactory(code="D-4EYES")
    insp, _wo, _tasks, _wc = pending_inspection(plan, both, qty="5")
    from tests.factories_alerts import measure

    measure(insp, qc, "10.4", qty_failed="1", defect_code=defect)
    nc = Nonconformance.objects.get(inspection=insp)
    with pytest.raises(PermissionDenied, match="another approver"):
        nonconformance_disposition(actor=both, nonconformance=nc, disposition="use_as_is",
                                   reason="mine, and fine")
    other = make_user("manager", username="boss_4eyes")
    done = nonconformance_disposition(actor=other, nonconformance=nc, disposition="use_as_is",
                                      reason="concession from the customer")
    assert done.approved_by == other
