"""Fuzz the API against its own OpenAPI schema (schemathesis), in-process over WSGI.

Every operation gets a few generated requests, valid and invalid, with an administrator's key
holding every scope: no answer may be a 5xx and every answer must match the schema (the
documented error shape included). Bounded: a handful of derandomized examples per operation,
no shrinking, so the whole run takes well under two minutes.

(schemathesis' own pytest plugin does not run under pytest 9 yet, so the operations' Hypothesis
strategies are driven here directly.)
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import UserFactory
from tests.factories_api import api_key
from tests.factories_quality import measured_plan, pending_inspection

pytestmark = pytest.mark.django_db
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 2}
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def wsgi_app():
    # As Django's test client does: the request signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_api_answers_within_its_schema(wsgi_app):
    operator = UserFactory(roles=["operator"])
    pending_inspection(measured_plan(), operator, qty="4")  # something to find and act on
    headers = {"Authorization": f"Bearer {api_key('admin')[1]}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app,
                                            headers=headers)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Exception as exc:  # noqa: BLE001 - every operation's failure is listed
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations > 40
    assert not failures, "\n\n".join(failures)
