"""Execution records: what actually happened on the floor, as reported."""

from execution.models.equipment import (  # noqa: F401
    DowntimeEvent,
    DowntimeReason,
    EquipmentState,
    EquipmentStateChange,
)
from execution.models.reporting import (  # noqa: F401
    MaterialConsumption,
    ScanRefusal,
    ScrapReason,
    TaskActivity,
    WorkReport,
)
