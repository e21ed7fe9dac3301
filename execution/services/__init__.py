"""Execution writes: reporting, equipment state and downtime, material issue."""
