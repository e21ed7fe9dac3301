"""Authentication backend: Django's ModelBackend, with the signed-in user and their permissions
each read by one precompiled query.

Every request loads its user, every page checks a capability (a permission) and the navigation
lists the pages a role may open; ModelBackend reads the user and then their permissions in two
more ORM queries (the user's own, their groups'). Here one hand-written statement reads the
user with the permissions of both paths (tested against ModelBackend; see mes/sql.py: the ORM
cost more to build these queries than the database took to run them). A user loaded some other
way (a login, a test) has their permissions read by one query when first asked.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from mes.sql import ModelColumns, fetch_all, fetch_one, statement, valid_pk

_user_columns: list[ModelColumns] = []


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _user_cols() -> ModelColumns:
    if not _user_columns:
        _user_columns.append(ModelColumns(get_user_model(), "u"))
    return _user_columns[0]


def _sql(name: str) -> str:
    return statement(f"mes.auth.{name}", lambda: _build(name))


def _build(name: str) -> str:
    user_model = get_user_model()
    perm, ct = _q(Permission._meta.db_table), _q(ContentType._meta.db_table)
    own = _q(user_model._meta.get_field("user_permissions").remote_field.through._meta.db_table)
    member = _q(user_model._meta.get_field("groups").remote_field.through._meta.db_table)
    group_perm = _q(Group._meta.get_field("permissions").remote_field.through._meta.db_table)
    agg = "string_agg" if connection.vendor == "postgresql" else "group_concat"

    # The permission ids of the user `who` (an SQL expression): their own and their groups'.
    def ids(who: str) -> str:
        return f"""p."id" IN (SELECT o."permission_id" FROM {own} o WHERE o."user_id" = {who})
   OR p."id" IN (SELECT gp."permission_id" FROM {group_perm} gp
                 JOIN {member} m ON m."group_id" = gp."group_id" WHERE m."user_id" = {who})"""  # noqa: S608

    if name == "user":  # the user and, in the same statement, their permissions as one text
        return f"""
SELECT {_user_cols().select()},
  (SELECT {agg}(ct."app_label" || '.' || p."codename", ',') FROM {perm} p
     JOIN {ct} ct ON ct."id" = p."content_type_id" WHERE {ids('u."id"')})
FROM {_q(user_model._meta.db_table)} u WHERE u."id" = %s"""  # noqa: S608
    if name == "perms":
        return f"""
SELECT DISTINCT ct."app_label", p."codename" FROM {perm} p
JOIN {ct} ct ON ct."id" = p."content_type_id" WHERE {ids("%(user)s")}"""  # noqa: S608
    return f"""
SELECT ct."app_label", p."codename" FROM {perm} p
JOIN {ct} ct ON ct."id" = p."content_type_id\"
"""  # noqa: S608


class CapabilityBackend(ModelBackend):
    def get_user(self, user_id):
        pk = valid_pk(get_user_model(), user_id)
        if pk is None:
            return None
        row = fetch_one(_sql("user"), [pk])
        if row is None:
            return None
        user = _user_cols().instance(row)
        if not self.user_can_authenticate(user):
            return None
        if not user.is_superuser:  # a superuser has every permission: read when asked
            user._perm_cache = set(filter(None, (row[-1] or "").split(",")))
        return user

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                rows = fetch_all(_sql("all_perms"), [])
            else:
                rows = fetch_all(_sql("perms"), {"user": user_obj.pk})
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
