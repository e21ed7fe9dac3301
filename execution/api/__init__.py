"""Execution resources of the REST API: station actions on tasks, work reports, equipment
state, downtime and material issue, with the stations' exactly-once client tokens."""
