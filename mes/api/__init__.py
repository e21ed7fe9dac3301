"""The JSON REST API: per-integration tokens with scopes, errors that name the field, the
OpenAPI schema and its docs. The apps' resources live in <app>/api/; mes/api/urls.py mounts
them. Every write goes through the same services as the UI."""
