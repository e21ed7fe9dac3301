"""The OpenAPI schema (/api/schema/) and the docs page (/api/docs/): Swagger UI served from
static/vendor (no CDN), trying requests out with the browser's session."""

from django.shortcuts import render
from django.utils.translation import gettext as _
from drf_spectacular.views import SpectacularAPIView

from mes.api.base import ApiMixin
from mes.api.schema import SCHEMA_SETTINGS

SWAGGER_UI = "vendor/swagger-ui-5.35.0"


class SchemaView(ApiMixin, SpectacularAPIView):
    """The OpenAPI 3 document (YAML, or JSON with ?format=json). Any API key may read it."""

    access = {"read": ((), None)}
    custom_settings = SCHEMA_SETTINGS


def docs_page(request):
    return render(request, "mes/api/docs.html", {"title": _("API documentation"),
                                                 "swagger_ui": SWAGGER_UI})
