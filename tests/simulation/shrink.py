"""Shrinking a failing schedule to a short one that fails the same way (delta debugging over plain data).

The failing schedule's faults are first pinned to the crossings where they fired (:func:`schedule.with_plan`), so every
candidate replays exactly. Then, as long as a candidate still fails with one of the original violations (numbers
aside): drop chunks of events (halving the chunk size down to single events), drop each remaining fault, turn a
concurrent pair into its runs one after the other, and make the shop smaller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .schedule import Result, Schedule, execute, with_plan

_NUMBERS = re.compile(r"\d+(\.\d+)?|[A-Z]{9}")


def signature(violation: str) -> str:
    """A violation without its numbers and references: what kind of failure it is."""
    return _NUMBERS.sub("#", violation)


def shrink(schedule: Schedule, result: Result, budget: int = 400, progress: Callable[[str], None] | None = None) -> tuple[Schedule, Result]:
    """A shorter schedule that fails with (one of) the same violations; at most ``budget`` executions."""
    wanted = {signature(v) for v in result.violations}
    runs = [0]

    def fails(candidate: Schedule) -> Result | None:
        if runs[0] >= budget:
            return None
        runs[0] += 1
        outcome = execute(candidate)
        return outcome if {signature(v) for v in outcome.violations} & wanted else None

    best = with_plan(schedule, result.fired)
    best_result = fails(best)
    if best_result is None:  # not reproducible from the plan: keep the original
        return schedule, result

    def attempt(candidate: Schedule) -> bool:
        nonlocal best, best_result
        found = fails(candidate)
        if found is None:
            return False
        best, best_result = candidate, found
        if progress:
            progress(f"{len(best.events)} events, {sum(len((e.get('faults') or {}).get('plan', [])) for e in best.events)} faults")
        return True

    # 1. events, in chunks
    chunk = max(1, len(best.events) // 2)
    while chunk >= 1 and runs[0] < budget:
        start, removed = 0, False
        while start < len(best.events) and runs[0] < budget:
            candidate = Schedule(best.seed, best.setup, best.events[:start] + best.events[start + chunk :])
            if attempt(candidate):
                removed = True
            else:
                start += chunk
        if not removed:
            chunk //= 2
    # 2. faults, one by one
    for index in range(len(best.events)):
        plan = list((best.events[index].get("faults") or {}).get("plan", []))
        position = 0
        while position < len(plan) and runs[0] < budget:
            events = [dict(e) for e in best.events]
            events[index]["faults"] = {"plan": plan[:position] + plan[position + 1 :]}
            if attempt(Schedule(best.seed, best.setup, events)):
                plan = events[index]["faults"]["plan"]
            else:
                position += 1
    # 3. a concurrent pair as two runs one after the other (when that still fails, the interleaving did not matter)
    for index in range(len(best.events) - 1, -1, -1):
        event = best.events[index]
        if event["do"] == "concurrent" and runs[0] < budget:
            parts: list[dict[str, Any]] = [
                {"at": event["at"], "do": "clear", "pick": run["clear"], "faults": {"plan": []}} if "clear" in run
                else {"at": event["at"], "do": "world", "what": run["world"], "args": run["args"]} if "world" in run
                else {"at": event["at"], "do": "run", "run": run, "faults": {"plan": []}}
                for run in event["runs"]
            ]  # fmt: skip
            if not (event.get("faults") or {}).get("plan"):
                attempt(Schedule(best.seed, best.setup, best.events[:index] + parts + best.events[index + 1 :]))
    # 4. a smaller shop
    while best.setup.get("orders", 0) > 1 and runs[0] < budget:
        if not attempt(Schedule(best.seed, {**best.setup, "orders": best.setup["orders"] - 1}, best.events)):
            break
    assert best_result is not None
    return best, best_result
