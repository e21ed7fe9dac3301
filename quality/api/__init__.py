"""Quality resources of the REST API: inspections, nonconformances, acceptance, the ERP
change feed, and OperationsPerformance (B2MML) for finished work."""
