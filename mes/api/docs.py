"""The OpenAPI schema (/api/schema/) and the docs page (/api/docs/): Swagger UI served from
static/vendor (no CDN), trying requests out with the browser's session."""

import threading

from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework.response import Response

from mes.api.base import ApiMixin
from mes.api.schema import SCHEMA_SETTINGS

SWAGGER_UI = "vendor/swagger-ui-5.35.0"

# drf-spectacular generates with process-wide state: one AutoSchema per view class, pointed at
# the view being inspected (mes.api.base.ApiMixin.schema), settings patched for the run, and
# extensions loaded on first use. Two web threads generating at once trampled on each other
# (500 "Schema generation REQUIRES a view instance"): one generation at a time, and each
# language's document kept, as it cannot change while the server runs (~2 s to make).
_GENERATING = threading.Lock()
_DOCUMENTS: dict[tuple, dict] = {}


class SchemaView(ApiMixin, SpectacularAPIView):
    """The OpenAPI 3 document (YAML, or JSON with ?format=json). Any API key may read it."""

    access = {"read": ((), None)}
    custom_settings = SCHEMA_SETTINGS

    @extend_schema(**SCHEMA_KWARGS)  # described as drf-spectacular describes its own
    def get(self, request, *args, **kwargs):
        with _GENERATING:
            return super().get(request, *args, **kwargs)

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (translation.get_language(), version)
        if key not in _DOCUMENTS:
            _DOCUMENTS[key] = super()._get_schema_response(request).data
        return Response(data=_DOCUMENTS[key], headers={
            "Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'})


def docs_page(request):
    return render(request, "mes/api/docs.html", {"title": _("API documentation"),
                                                 "swagger_ui": SWAGGER_UI})
