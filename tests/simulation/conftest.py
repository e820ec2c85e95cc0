"""The simulation's pytest options: --seed replays one seed (its events, faults and violations are printed when it
fails), --sim-schedules and --sim-start change the budget the CI covers (seeds 1 … 2000 by default)."""

from __future__ import annotations
