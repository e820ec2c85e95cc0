"""At most two VIES requests at once in the whole deployment, across processes (issue 24): four processes — four
tenants' validate tasks on different workers — ask VIES at the same moment through one state store. The VIES
emulator answers slowly and, like VIES, refuses a third request in flight (GLOBAL_MAX_CONCURRENT_REQ); it never
has to, it sees two at once (each process runs two threads), and a number several processes ask about costs one
request."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import SandboxServers
from sandbox.seed import valid_vat_number

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 4


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServers(seed=7, orders=0, anchor=dt.datetime(2026, 11, 20, 12)) as servers:
        yield servers


def numbers(count: int, seed: int) -> list[str]:
    rng, found = random.Random(seed), []
    while len(found) < count:
        number = valid_vat_number(rng, rng.choice(["BE", "DE", "FR", "NL"]))
        if number not in found:
            found.append(number)
    return found


def run_workers(sandbox, tmp_path: Path, batches: list[list[str]]) -> list[dict]:
    env = {
        **os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        "PRESTA_EB_STATE_DB": f"sqlite:///{tmp_path / 'state.db'}", "PRESTA_EB_STATE_AUTO_MIGRATE": "1",
        "AIRFLOW_CONN_VIES_DEFAULT": json.dumps({"conn_type": "vies", "host": sandbox.vies_url}),
        "WORKER_START_AT": str(time.time() + 10),
    }  # fmt: skip
    from prestashop_eboekhouden.store import StateStore

    StateStore(env["PRESTA_EB_STATE_DB"])  # migrated once, before the workers start
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.reliability.vies_worker", f"tenant_{i}/run", ",".join(batch)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        for i, batch in enumerate(batches)
    ]
    outputs = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def test_four_processes_never_send_more_than_two_requests_at_once(sandbox, tmp_path):
    vies = sandbox.vies
    batches = [numbers(5, seed) for seed in range(PROCESSES)]
    for batch in batches:
        for number in batch:
            vies.register(number, f"Firma {number}", "Straat 1")
    vies.reset_counts()
    vies.latency_ms, vies.max_concurrent = 250, 2  # slow answers, and VIES's own refusal of a third at once
    try:
        outputs = run_workers(sandbox, tmp_path, batches)
    finally:
        vies.latency_ms, vies.max_concurrent = 0, None
    described = vies.describe()
    assert described["max_in_flight"] == 2  # two at once (so the processes did overlap), never three
    assert "GLOBAL_MAX_CONCURRENT_REQ" not in described["requests"]["answers"]
    for batch, output in zip(batches, outputs, strict=True):
        assert output == {n: [True, None] for n in batch}
    assert described["requests"]["total"] == PROCESSES * 5


def test_a_number_several_processes_ask_about_costs_one_request(sandbox, tmp_path):
    vies = sandbox.vies
    shared = numbers(6, 99)
    for number in shared:
        vies.register(number, f"Firma {number}", "Straat 1")
    vies.reset_counts()
    vies.latency_ms = 200
    try:
        outputs = run_workers(sandbox, tmp_path, [shared] * PROCESSES)
    finally:
        vies.latency_ms = 0
    assert all(output == {n: [True, None] for n in shared} for output in outputs)
    assert vies.describe()["requests"]["per_number"] == dict.fromkeys(shared, 1)
