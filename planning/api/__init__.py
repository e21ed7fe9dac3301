"""Planning resources of the REST API: master data, production orders, work orders, tasks,
the ERP order exchange and B2MML. Writes call planning.services, like the pages do."""

from mes.api.errors import register_conflict
from planning.states import InvalidTransition

register_conflict(InvalidTransition)
