"""Deterministic simulation of the exactly-once protocol under random schedules of faults (issue 28)."""
