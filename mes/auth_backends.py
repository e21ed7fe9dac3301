"""Authentication backend: Django's ModelBackend, with a user's permissions read in one query.

Every page checks a capability (a permission) and the navigation lists the pages a role may
open; ModelBackend reads the user's own and their groups' permissions in two queries per
request. One query with both paths gives the same set.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class CapabilityBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                perms = Permission.objects.all()
            else:
                perms = Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in perms.values_list("content_type__app_label",
                                                             "codename").distinct()}
        return user_obj._perm_cache
