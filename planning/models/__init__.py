"""Planning records: the plant, products (items, BOMs, routings) and the work to be done."""

from planning.models.orders import (  # noqa: F401
    MaterialRequirement,
    Priority,
    ProductionOrder,
    Task,
    TaskLink,
    WorkOrder,
)
from planning.models.plant import (  # noqa: F401
    Equipment,
    Holiday,
    Line,
    Shift,
    ShiftCalendar,
    Site,
    WorkCenter,
    Workshop,
)
from planning.models.product import BOMLine, BOMVersion, Item, Routing, RoutingStep  # noqa: F401
from planning.models.schedule import ScheduleEntry, ScheduleVersion  # noqa: F401
