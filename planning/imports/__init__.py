"""Excel (.xlsx) and CSV import and export of planning data: items, BOM lines, routings and
production orders. See run.py for the two entry points (check, apply)."""
