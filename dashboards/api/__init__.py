"""Read-only API of the top app: alerts and KPI values (the same definitions as the KPI pages,
dashboards.kpis)."""
