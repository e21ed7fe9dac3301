"""Demo accounts: one per role, printed when the embedded system starts."""

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from mes.audit import audit_record
from mes.models import User
from mes.roles import (
    ADMIN,
    MANAGER,
    OPERATOR,
    PLANNER,
    QC_INSPECTOR,
    WORKSHOP_LEAD,
    sync_role_groups,
)

DEMO_PASSWORD = "mes-demo-2026"  # noqa: S105 - demo accounts, printed at start by design

# (username, role, display name, badge code)
DEMO_USERS = [
    ("planner", PLANNER, "计划员 王芳 / Wang Fang", "B-PL-001"),
    ("lead", WORKSHOP_LEAD, "车间主管 李强 / Li Qiang", "B-LD-001"),
    ("operator", OPERATOR, "操作工 张伟 / Zhang Wei", "B-OP-001"),
    ("qc", QC_INSPECTOR, "质检员 刘洋 / Liu Yang", "B-QC-001"),
    ("manager", MANAGER, "厂长 陈静 / Chen Jing", "B-MG-001"),
    ("admin", ADMIN, "系统管理员 / Administrator", "B-AD-001"),
]


@transaction.atomic
def demo_users_ensure() -> list[tuple[str, str, str]]:
    """Create the demo accounts that are missing. Returns (username, role, password) rows."""
    sync_role_groups()
    rows = []
    hashed = None  # hashing is slow on purpose (~0.4 s): once for all the demo accounts
    for username, role, name, badge in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, display_name=name, badge_code=badge,
                        is_staff=role == ADMIN, is_superuser=role == ADMIN)
            hashed = hashed or demo_password_hash()
            user.password = hashed
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            audit_record(actor=None, instance=user, action="create",
                         after={"username": username, "role": role, "badge_code": badge},
                         reason="demo account")
        rows.append((username, role, DEMO_PASSWORD))
    return rows


def demo_password_hash() -> str:
    """DEMO_PASSWORD, hashed. The demo accounts share the printed password, so one hash (one
    salt) serves all of them and the demo plant loads in seconds, not in a minute."""
    return make_password(DEMO_PASSWORD)
