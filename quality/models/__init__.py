"""Quality records: inspection plans, inspections, nonconformance, acceptance and archive."""

from quality.models.acceptance import Acceptance, ArchivedRecord  # noqa: F401
from quality.models.inspection import (  # noqa: F401
    Characteristic,
    DefectCode,
    Inspection,
    InspectionPlan,
    InspectionResult,
    Nonconformance,
)
