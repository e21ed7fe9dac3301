"""django-tables2 reads a cell method's signature once per function (mes.tables
table_signatures_cached), and still passes each cell method the arguments it asks for."""

import inspect

import pytest
from django_tables2 import utils

pytestmark = pytest.mark.embedded


class Cells:
    def render_a(self, value):
        return ("a", value)

    def render_b(self, record, value, **kwargs):
        return ("b", record, value, sorted(kwargs))

    @classmethod
    def render_c(cls, record):
        return ("c", cls.__name__, record)


def test_signatures_are_read_once_per_function_and_stay_right(monkeypatch):
    assert getattr(utils.signature, "cached", False)  # installed when the apps load
    calls = []
    real = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda fn, **kw: calls.append(fn) or real(fn, **kw))
    kwargs = {"value": 1, "record": "r", "table": "t"}
    one, two = Cells(), Cells()
    plain = lambda value, record: (value, record)  # noqa: E731
    other = lambda table: table  # noqa: E731
    for _ in range(3):
        assert utils.call_with_appropriate(one.render_a, kwargs) == ("a", 1)
        assert utils.call_with_appropriate(two.render_a, kwargs) == ("a", 1)  # same function
        assert utils.call_with_appropriate(one.render_b, kwargs) == ("b", "r", 1, ["table"])
        assert utils.call_with_appropriate(Cells.render_c, kwargs) == ("c", "Cells", "r")
        assert utils.call_with_appropriate(plain, kwargs) == (1, "r")
        assert utils.call_with_appropriate(other, kwargs) == "t"
        # The function unbound (self is an argument then) is not the bound method.
        assert utils.signature(Cells.render_a) == (("self", "value"), None)
        assert utils.signature(one.render_a) == (("value",), None)
    assert len(calls) <= 6  # once per (function, bound or not), not once per cell
