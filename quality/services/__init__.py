"""Quality writes: inspections, nonconformance and rework, acceptance and archive."""
