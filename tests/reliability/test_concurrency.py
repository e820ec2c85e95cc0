"""Two runs of one tenant at the same moment over the same orders (the hourly run and a reprocess from the
dashboard), in two processes as two Airflow workers would run them: every order booked once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from sandbox import FaultConfig
from tests.e2e.conftest import REPO

from .conftest import PROCESS, assert_exactly_once

pytestmark = pytest.mark.timeout(240)


def test_hourly_run_and_reprocess_at_once_book_each_order_once(make_sandbox, state_store):
    sandbox = make_sandbox(orders=90, days_back=3)
    sandbox.set_faults("eboekhouden", FaultConfig(latency_ms=120))  # long enough for the two runs to overlap
    ids = [int(o["id"]) for o in sandbox.shop.items("orders") if int(o["current_state"]) in PROCESS]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]), "WORKER_START_AT": str(time.time() + 8)}
    command = [sys.executable, "-m", "tests.reliability.book_worker", "run"]
    workers = [
        subprocess.Popen([*command, "scheduled__2026-11-20T11:00:00+00:00"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True),
        subprocess.Popen([*command, "manual__reprocess", *map(str, ids)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True),
    ]
    outputs = [worker.communicate(timeout=180)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    booked_by = [sum(int(n) for n in re.findall(r"booked=(\d+)", out)) for out in outputs]
    skipped_by = [sum(int(n) for n in re.findall(r"skipped=(\d+)", out)) for out in outputs]
    assert min(booked_by) > 0, f"the runs did not overlap: {outputs}"  # both really booked at the same time
    assert min(skipped_by) > 0, outputs  # and each left the other's claimed orders alone
    states = assert_exactly_once(sandbox, state_store)
    assert states["booked"] == sum(booked_by) and states["booked"] > 40
