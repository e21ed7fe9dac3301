"""OpenAPI: every operation documents the error shape for the statuses it can answer, so
clients (and the fuzzer) can rely on the schema for failures too."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from mes.api.errors import ErrorSerializer

READ_ERRORS = ("400", "401", "403", "404", "406")
WRITE_ERRORS = (*READ_ERRORS, "405", "409", "413", "415", "422")


class MesAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = READ_ERRORS if self.method in ("GET", "HEAD", "OPTIONS") else WRITE_ERRORS
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description="Error"), code,
                    direction=direction)
        return responses

    def get_tags(self):
        # Group by the first path segment after /api/ (items, production-orders, erp, …).
        parts = [p for p in self.path.split("/") if p and not p.startswith("{")]
        return [parts[1] if len(parts) > 1 and parts[0] == "api" else parts[0]]


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mes.api.auth.ApiTokenAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An API key made by an administrator (API tokens page)."}


# The schema view's settings (drf-spectacular applies them while it generates the schema).
SCHEMA_SETTINGS = {
    "COMPONENT_SPLIT_REQUEST": True,   # request bodies without the read-only fields
    "SCHEMA_PATH_PREFIX": r"/api/",
    "ENUM_NAME_OVERRIDES": {},
}
