"""The CI's budget of schedules: seeds 1 … 2000 (``--sim-start``, ``--sim-schedules``), in blocks that xdist spreads
over both cores; each schedule's invariants checked (tests/simulation/checks.py). A failing seed is named with the
one-line command that replays it; ``--seed N`` runs that seed alone and prints its events, faults and violations.

And the properties the simulation itself must have: the same seed gives the same schedule and the same result (in
this process and in another, whatever the hash seed), a schedule replays exactly from the faults that fired, and the
invariants catch the bug they exist for (a booker that re-sends without looking the number up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .cli import PYTEST_REPLAY, REPLAY
from .schedule import execute, fault_counts, generate, with_plan

pytestmark = pytest.mark.simulation
SCHEDULES, START, BLOCK = 2000, 1, 50
REPO = Path(__file__).resolve().parents[2]


def pytest_generate_tests(metafunc):
    if "seeds" not in metafunc.fixturenames:
        return
    config = metafunc.config
    if config.getoption("--seed") is not None:
        blocks = [[config.getoption("--seed")]]
    else:
        start = config.getoption("--sim-start") or START
        count = config.getoption("--sim-schedules") or SCHEDULES
        blocks = [list(range(first, min(first + BLOCK, start + count))) for first in range(start, start + count, BLOCK)]
    metafunc.parametrize("seeds", blocks, ids=[f"seeds {b[0]}-{b[-1]}" for b in blocks])


def test_schedules_hold_every_invariant(seeds, request):
    single = len(seeds) == 1
    failures = []
    for seed in seeds:
        schedule = generate(seed)
        result = execute(schedule, trace=single)
        if not result.ok:
            where = f"broken after event {result.first_broken}" if result.first_broken is not None else "broken once settled"
            failures.append(
                f"seed {seed} ({where}):\n    " + "\n    ".join(result.violations[:8])
                + f"\n  replay: {PYTEST_REPLAY.format(seed=seed)}\n      or: {REPLAY.format(seed=seed)} [--shrink]"
                + ("\n" + "\n".join(result.log) if single else "")
            )  # fmt: skip
    assert not failures, f"{len(failures)} of {len(seeds)} schedules broke an invariant:\n" + "\n".join(failures)


def test_the_same_seed_gives_the_same_schedule_and_the_same_result():
    for seed in (7, 8, 9):
        first, second = execute(generate(seed)), execute(generate(seed))
        assert generate(seed).to_json() == generate(seed).to_json()
        assert (first.digest, first.log) == (second.digest, second.log)


def test_a_schedule_replays_exactly_from_the_faults_that_fired():
    for seed in (11, 12, 13, 14):
        schedule = generate(seed)
        result = execute(schedule)
        assert result.fired, "these seeds draw faults"
        assert execute(with_plan(schedule, result.fired)).digest == result.digest


def test_the_same_seed_gives_the_same_result_in_another_process():
    """Nothing depends on the process: not the hash seed (set iteration), not the clock, not thread timing."""
    seeds = (21, 22, 23)
    mine = [execute(generate(seed)).digest for seed in seeds]
    code = (
        "import sys; from tests.simulation.schedule import execute, generate; "
        f"print(' '.join(execute(generate(s)).digest for s in {seeds!r}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": f"{REPO / 'plugins'}{os.pathsep}{REPO}"}
    other = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True)
    assert other.stdout.split()[-len(seeds):] == mine


def test_the_invariants_catch_a_booker_that_resends_without_looking_up(monkeypatch):
    """The simulation has teeth: with the exactly-once lookup switched off, a lost answer books a sale twice."""
    from prestashop_eboekhouden.pipeline import booking

    monkeypatch.setattr(booking.SaleBooker, "find_existing", lambda self, plan, relation=None: None)
    for seed in range(1, 200):
        result = execute(generate(seed))
        if any("booked 2 times" in v or "in the store" in v for v in result.violations):
            assert fault_counts(result.fired)
            return
    pytest.fail("200 schedules without the lookup and no sale booked twice: the faults or the checks miss it")


def test_the_invariants_catch_a_work_off_that_does_not_stick(monkeypatch):
    """The work-off events have teeth too: were a row the bookkeeper worked off left in Errors (to be booked, or
    refused, again by a later run), the invariants say so."""
    from prestashop_eboekhouden import store_worked_off

    def left_in_errors(self, tenant, kind, keys, resolution, by, note=""):  # says it worked them off, changes nothing
        return [int(k) for k in keys]

    monkeypatch.setattr(store_worked_off.WorkedOff, "resolve", left_in_errors)
    for seed in range(1, 200):
        result = execute(generate(seed))
        if any("was worked off as" in v for v in result.violations):
            return
    pytest.fail("200 schedules with work-offs that change nothing, and no invariant noticed")
