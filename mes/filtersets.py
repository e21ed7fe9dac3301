import django_filters
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mes.forms import PlausibleDateTimeField
from mes.models import AuditEntry, User


class PlausibleDateTimeFilter(django_filters.DateTimeFilter):
    """A time filter that takes years 1970–2200 only (0001-01-01 overflows in UTC)."""

    field_class = PlausibleDateTimeField


class AuditEntryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    content_type = django_filters.ModelChoiceFilter(
        label=_("Record type"),
        queryset=ContentType.objects.exclude(app_label__in=["admin", "contenttypes", "sessions"])
        .order_by("app_label", "model"),
    )
    object_id = django_filters.CharFilter(label=_("Record id"))
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices)
    actor = django_filters.ModelChoiceFilter(queryset=User.objects.all(), label=_("Who"))
    since = PlausibleDateTimeFilter(field_name="at", lookup_expr="gte", label=_("Since"))
    until = PlausibleDateTimeFilter(field_name="at", lookup_expr="lte", label=_("Until"))

    class Meta:
        model = AuditEntry
        fields = ["q", "content_type", "object_id", "action", "actor", "since", "until"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(object_repr__icontains=value) | Q(reason__icontains=value)
                               | Q(actor_repr__icontains=value))


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    groups = django_filters.CharFilter(field_name="groups__name", label=_("Role"))

    class Meta:
        model = User
        fields = ["q", "groups", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(username__icontains=value) | Q(display_name__icontains=value)
                               | Q(badge_code__iexact=value))
