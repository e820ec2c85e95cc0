"""Deterministic simulation of the booking pipeline under random schedules of faults (issue 28): the soak.

Each seed builds a small shop (orders of every kind, credit slips of each type, payments, returning customers and
namesakes) and a schedule of hourly runs, reruns, backfills, nightly rechecks, payment runs, reprocesses, cleared
runs and concurrent runs, with faults at every crossing of the pipeline's boundary; after each schedule the
invariants are checked against the emulators' own records (tests/simulation/). The CI runs seeds 1–2000
(``pytest -m simulation``); this script runs any number, prints how many ran, the faults drawn per kind and what
failed, and replays or shrinks one seed.

    nice -n 19 .venv/bin/python bench/simulate.py --schedules 100000 --jobs 2 --json bench/results/simulate.json
    .venv/bin/python bench/simulate.py --seed 12345 [--shrink]
    .venv/bin/python bench/simulate.py --schedule-file sim-12345.json
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO)]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="presta-eb-simulate-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from tests.simulation.cli import main  # noqa: E402 - the path and Airflow's home first

if __name__ == "__main__":
    sys.exit(main())
