"""The simulation from the command line (``bench/simulate.py``): many seeds, one seed replayed, a schedule file.

    python bench/simulate.py --schedules 100000 --jobs 2          # the soak: how many ran, faults per kind, failures
    python bench/simulate.py --seed 12345                         # replay one seed: its events, faults and violations
    python bench/simulate.py --seed 12345 --shrink                # ... and shrink it to a short schedule (JSON)
    python bench/simulate.py --schedule-file failing.json         # replay a (shrunk) schedule exactly
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPLAY = ".venv/bin/python bench/simulate.py --seed {seed}"
PYTEST_REPLAY = ".venv/bin/python -m pytest tests/simulation -m simulation --seed {seed}"


def run_range(seeds: list[int]) -> dict[str, Any]:
    """Run schedules (in a worker): totals, faults per kind, and the failures with their first violations."""
    from .schedule import execute, fault_counts, generate

    faults: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    failures = []
    crossings = 0
    for seed in seeds:
        schedule = generate(seed)
        try:
            result = execute(schedule)
        except Exception as exc:  # noqa: BLE001 - the harness itself failed on this seed: a failure to report like any
            failures.append({"seed": seed, "violations": [f"the simulation raised {type(exc).__name__}: {exc}"]})
            continue
        faults.update(fault_counts(result.fired))
        counts.update(result.counts)
        counts["events"] += len(schedule.events)
        crossings += result.crossings
        if not result.ok:
            failures.append({"seed": seed, "violations": result.violations[:5], "first_broken": result.first_broken})
    return {"ran": len(seeds), "faults": dict(faults), "counts": dict(counts), "failures": failures, "crossings": crossings}


def soak(start: int, schedules: int, jobs: int, chunk: int = 50, report_every: float = 60.0, save: Path | None = None) -> dict[str, Any]:
    """Seeds start … start+schedules−1 over ``jobs`` processes; prints progress now and then (and saves the totals so
    far, when asked), returns the totals. Interrupted (Ctrl-C, SIGTERM), it returns what ran until then."""
    import signal

    began = time.monotonic()
    totals: dict[str, Any] = {"ran": 0, "faults": Counter(), "counts": Counter(), "failures": [], "crossings": 0, "seconds": 0.0}
    chunks = [list(range(first, min(first + chunk, start + schedules))) for first in range(start, start + schedules, chunk)]
    last = began
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill ends the soak like Ctrl-C: with its totals
    pool = multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_signals)
    try:
        for part in pool.imap(run_range, chunks):  # in order: what ran is always seeds start … start+ran−1
            totals["ran"] += part["ran"]
            totals["faults"].update(part["faults"])
            totals["counts"].update(part["counts"])
            totals["failures"] += part["failures"]
            totals["crossings"] += part["crossings"]
            totals["seconds"] = round(time.monotonic() - began, 1)
            if time.monotonic() - last > report_every:
                last = time.monotonic()
                print(f"... {totals['ran']:,} schedules in {last - began:,.0f} s, {len(totals['failures'])} failed", flush=True)
                if save:
                    write_json(save, totals, start)
    except KeyboardInterrupt:
        print(f"interrupted after {totals['ran']:,} schedules", flush=True)
    finally:
        pool.terminate()
        pool.join()
    return totals


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to the parent and dies quietly on SIGTERM (the parent reports what ran)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def write_json(path: Path, totals: dict[str, Any], start: int) -> None:
    path.write_text(json.dumps({**totals, "faults": dict(totals["faults"]), "counts": dict(totals["counts"]), "start": start}, indent=1) + "\n")


def print_totals(totals: dict[str, Any], start: int) -> None:
    ran, seconds = totals["ran"], totals["seconds"]
    fired = sum(totals["faults"].values())
    print(f"schedules run: {ran:,} (seeds {start}–{start + ran - 1}) in {seconds:,.1f} s ({ran / max(seconds, 0.001):.1f}/s)")
    print(f"events: {totals['counts'].get('events', 0):,}; DAG runs: {totals['counts'].get('runs', 0):,}; crossings of the boundary: {totals['crossings']:,}")
    print(f"faults fired: {fired:,}")
    for kind, count in sorted(totals["faults"].items(), key=lambda kv: -kv[1]):
        print(f"  {count:>9,}  {kind}")
    print("events and runs:")
    for kind, count in sorted(totals["counts"].items()):
        if kind != "events":
            print(f"  {count:>9,}  {kind}")
    failures = sorted(totals["failures"], key=lambda f: f["seed"])
    print(f"failed: {len(failures)}")
    for failure in failures[:50]:
        print(f"  seed {failure['seed']}: {failure['violations'][0]}")
        print(f"    replay: {REPLAY.format(seed=failure['seed'])}")


def replay(schedule: Any, *, shrink_it: bool, out: Path | None) -> int:
    from .schedule import execute, fault_counts
    from .shrink import shrink

    result = execute(schedule, trace=True)
    print("\n".join(result.log))
    print(f"faults fired: {dict(fault_counts(result.fired))}; digest {result.digest}")
    if result.ok:
        print("held: every invariant")
        return 0
    print(f"first broken after event {result.first_broken}" if result.first_broken is not None else "broken once settled")
    print("\n".join(f"VIOLATION {v}" for v in result.violations))
    print(f"replay: {REPLAY.format(seed=schedule.seed)}")
    if shrink_it:
        small, small_result = shrink(schedule, result, progress=lambda text: print(f"  shrunk to {text}", flush=True))
        print(f"shrunk: {len(schedule.events)} → {len(small.events)} events, {schedule.setup.get('orders')} → {small.setup.get('orders')} orders")
        again = execute(small, trace=True)
        print("\n".join(again.log))
        print("\n".join(f"VIOLATION {v}" for v in small_result.violations))
        target = out or Path(f"sim-{schedule.seed}.json")
        target.write_text(small.to_json() + "\n")
        print(f"written to {target}; replay: .venv/bin/python bench/simulate.py --schedule-file {target}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, help="replay this seed (its events, faults and violations)")
    parser.add_argument("--schedule-file", type=Path, help="replay this schedule (JSON, e.g. a shrunk one)")
    parser.add_argument("--shrink", action="store_true", help="shrink a failing replayed schedule")
    parser.add_argument("--out", type=Path, help="where to write the shrunk schedule")
    parser.add_argument("--schedules", type=int, default=2000, help="how many seeds to run (default 2000)")
    parser.add_argument("--start", type=int, default=1_000_000, help="the first seed (default 1000000: the CI runs 1 … 2000)")
    parser.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--json", type=Path, help="write the totals as JSON here")
    args = parser.parse_args(argv)
    from .schedule import Schedule, generate

    if args.schedule_file:
        return replay(Schedule.from_json(args.schedule_file.read_text()), shrink_it=args.shrink, out=args.out)
    if args.seed is not None:
        return replay(generate(args.seed), shrink_it=args.shrink, out=args.out)
    totals = soak(args.start, args.schedules, args.jobs, save=args.json)
    print_totals(totals, args.start)
    if args.json:
        write_json(args.json, totals, args.start)
    return 1 if totals["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
