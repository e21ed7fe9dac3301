"""Generic views every app's pages are built from (NetBox style)."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseBadRequest
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from mes.export import EXPORT_FORMATS, table_export_response
from mes.roles import perm


class CapabilityRequiredMixin(PermissionRequiredMixin):
    """Refuse (403) unless the user's roles give `capability`. Login is already required."""

    capability: str | None = None
    raise_exception = True

    def get_permission_required(self):
        return [perm(self.capability)] if self.capability else []


class ObjectListView(CapabilityRequiredMixin, SingleTableMixin, FilterView):
    """A list page: queryset (pre-annotated), filterset, table; htmx gets only the table.

    `?export=csv` or `?export=xlsx` downloads every filtered row, as the table shows them.
    """

    template_name = "mes/object_list.html"
    partial_template_name = "mes/_object_list_table.html"
    title = ""
    export_basename = "export"

    def get_template_names(self):
        # Sorting, paging and filtering swap only the table container (id "object-list").
        if self.request.htmx and self.request.htmx.target == "object-list":
            return [self.partial_template_name]
        return [self.template_name]

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("export")
        if fmt is None:
            return super().get(request, *args, **kwargs)
        if fmt not in EXPORT_FORMATS:
            return HttpResponseBadRequest(f"Unknown export format {fmt!r}; use csv or xlsx.")
        filterset = self.get_filterset(self.get_filterset_class())
        self.object_list = filterset.qs if filterset.is_valid() else filterset.queryset.none()
        table = self.get_table(**self.get_table_kwargs())
        return table_export_response(table, basename=self.export_basename, fmt=fmt)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["export_formats"] = EXPORT_FORMATS
        return context
