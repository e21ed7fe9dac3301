"""Roles are groups made by a data migration; pages refuse (403) what a role may not do."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from mes.roles import ROLE_CAPABILITIES, ROLE_LABELS

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

# (url name, roles allowed) for every foundation page that needs more than a login.
MATRIX = [
    ("audit_list", {"planner", "workshop_lead", "manager", "admin"}),
    ("user_list", {"admin"}),
]


def test_migration_creates_every_role_with_its_capabilities():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_LABELS)
    for role, caps in ROLE_CAPABILITIES.items():
        have = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
        assert have == set(caps), role


@pytest.mark.parametrize("role", sorted(ROLE_CAPABILITIES))
@pytest.mark.parametrize(("url_name", "allowed"), MATRIX)
def test_permission_matrix(client_as, role, url_name, allowed):
    response = client_as(role).get(reverse(url_name))
    assert response.status_code == (200 if role in allowed else 403)


@pytest.mark.parametrize("url_name", ["home", "live", "audit_list", "user_list", "whoami"])
def test_login_required_everywhere(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_healthz_and_login_page_are_public(client):
    assert client.get(reverse("healthz")).content == b"ok"
    assert client.get(reverse("login")).status_code == 200


def test_stream_refuses_someone_elses_notifications(client_as):
    c = client_as("operator")
    other = c.user.pk + 1000
    assert c.get(reverse("events_stream"), {"topics": f"user:{other}"}).status_code == 403
    assert c.get(reverse("events_stream"), {"topics": ""}).status_code == 400
    assert c.get(reverse("events_stream"), {"topics": "demo"},
                 HTTP_LAST_EVENT_ID="abc").status_code == 400


def test_csrf_is_enforced(make_user):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(make_user("operator"))
    assert c.post(reverse("live_post"), {"text": "hi"}).status_code == 403


def test_capabilities_read_in_one_query_same_as_django(make_user, django_assert_num_queries):
    """The backend reads a user's own and their roles' permissions in one query and finds
    exactly what Django's ModelBackend finds (two queries)."""
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Permission

    from mes.auth_backends import CapabilityBackend

    user = make_user("planner")
    user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    user.groups.add(Group.objects.get(name="operator"))
    fresh = type(user).objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        mine = CapabilityBackend().get_all_permissions(fresh)
    django_set = ModelBackend().get_all_permissions(type(user).objects.get(pk=user.pk))
    assert mine == django_set and "mes.view_auditentry" in mine
    assert len(mine) > len(ROLE_CAPABILITIES["planner"])
    # The signed-in user of a request is loaded with their permissions in the same statement.
    with django_assert_num_queries(1):
        loaded = CapabilityBackend().get_user(str(user.pk))
        assert CapabilityBackend().get_all_permissions(loaded) == django_set
    assert CapabilityBackend().get_user("nobody") is None
    assert CapabilityBackend().get_user(user.pk + 1000) is None
    boss = make_user("planner")
    type(boss).objects.filter(pk=boss.pk).update(is_superuser=True)
    boss = CapabilityBackend().get_user(boss.pk)
    assert CapabilityBackend().get_all_permissions(boss) == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")}
    user.is_active = False
    assert CapabilityBackend().get_all_permissions(user) == set()
