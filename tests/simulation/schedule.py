"""Schedules: generated from a seed, executed against a fresh world, replayed exactly, shrunk when they fail.

A schedule is plain data (JSON): the world's set-up and a list of timed events —

- ``run``: one DAG run (hourly over an hour or a wider window, a backfill hour, a reprocess of chosen orders from the
  dashboard, the nightly recheck, the daily payments), with the faults of that run;
- ``clear``: the bookkeeper clears an earlier run: it runs again with the same run id (so its tasks own the claims the
  first run left);
- ``concurrent``: two runs at once (a backfill hour and a rerun, a reprocess during the hourly run, the nightly recheck
  overlapping a cleared run, two payments runs), interleaved deterministically at every crossing;
- ``world``: the shop or the bookkeeper changes something (an order placed, paid, shipped, cancelled, edited, refunded;
  a relation or a sale deleted in e-Boekhouden; an Error worked off as booked by hand or dismissed).

Faults are given per run event as rates (drawn per crossing with the event's own generator, seeded from the
schedule's seed) or, after shrinking, as an explicit plan of the crossings that fault. After the last event the world
settles (fault-free: one run over the whole period, the nightly recheck, the payments) and the invariants are checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .checks import check, safety
from .faults import FAULTS, EventFaults, FaultRates, Fired, Interleaver, kill_name
from .runner import HOURLY, NIGHTLY, PAYMENTS, execute_run
from .world import MARKS, ORDER_KINDS, SLIP_KINDS, T0, World, patched

FORMAT = 1


@dataclass
class Schedule:
    seed: int
    setup: dict[str, Any]
    events: list[dict[str, Any]]

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "seed": self.seed, "setup": self.setup, "events": self.events}, indent=None, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Schedule:
        data = json.loads(text)
        return cls(int(data["seed"]), data["setup"], data["events"])


@dataclass
class Result:
    """What a schedule did: its violations (empty: it held), the faults that fired, counts, and a digest of the end
    state (the same schedule gives the same digest)."""

    seed: int
    violations: list[str]
    fired: list[Fired] = field(default_factory=list)
    first_broken: int | None = None  # the first event after which a safety invariant broke
    counts: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    digest: str = ""
    crossings: int = 0
    world: Any = field(default=None, repr=False)  # the world at the end (for tests that look at it)

    @property
    def ok(self) -> bool:
        return not self.violations


# ---- generation ---------------------------------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="minutes")


def _rates(rng: random.Random) -> dict[str, Any]:
    """A run's fault rates: many runs clean, some a little faulty, a few very."""
    if rng.random() < 0.25:
        return {}
    heavy = rng.random() < 0.2
    pick = (lambda *xs: rng.choice(xs))  # noqa: E731
    rates = FaultRates(
        eb_read=pick(0, 0.02, 0.05, 0.15 if heavy else 0.08),
        eb_write=pick(0, 0.1, 0.25, 0.5 if heavy else 0.3),
        ps_read=pick(0, 0.02, 0.05, 0.15 if heavy else 0.08),
        kill_protocol=pick(0, 0.02, 0.05, 0.15 if heavy else 0.08),
        kill_other=pick(0, 0.002, 0.01),
    )
    return {"rates": rates.as_dict()}


def _world_event(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """Something the shop or the bookkeeper does: what, and its arguments."""
    what = rng.choices(
        ["new_order", "order_state", "slip", "edit_order", "installments", "namesake", "delete_relation", "delete_mutation", "work_off"],
        weights=[5, 5, 3, 1, 1, 1, 0.6, 0.6, 1.2],
    )[0]
    if what == "work_off":
        return what, {"pick": rng.randrange(1000), "resolution": rng.choice(["by_hand", "by_hand", "dismissed"])}
    if what == "new_order":
        return what, {"kind": rng.choice(ORDER_KINDS), "mark": rng.choice(MARKS)}
    if what == "order_state":
        return what, {"pick": rng.randrange(1000), "to": rng.choice(["pay", "pay", "ship", "deliver", "cancel", "process"])}
    if what == "slip":
        return what, {"pick": rng.randrange(1000), "kind": rng.choice(SLIP_KINDS)}
    if what == "edit_order":
        return what, {"pick": rng.randrange(1000), "how": rng.choice(["shipping", "cent"])}
    return what, {"pick": rng.randrange(1000)}


def _hour_run(kind: str, hour: dt.datetime) -> dict[str, Any]:
    return {"dag": HOURLY, "run_id": f"{kind}__{_iso(hour)}", "mode": "window", "since": _iso(hour), "until": _iso(hour + dt.timedelta(hours=1))}


def generate(seed: int) -> Schedule:
    """A schedule from a seed: a small shop with orders of every kind, a few hours of the shop's life, runs and faults."""
    rng = random.Random(seed)
    hours = rng.randint(2, 5)
    setup = {
        "orders": rng.randint(4, 12),
        "days_back": 1.5,
        "page_cap": rng.choice([None, None, 5, 7]),
        "email_case": rng.choice(["insensitive"] * 4 + ["sensitive"]),
        "config": {
            "sales_number": rng.choice(["reference"] * 6 + ["invoice_number", "id"]),
            "prefix": rng.choice(["SIM-", "", "WEB-"]),
            "batch_size": rng.randint(1, 4),
            "ps_page_size": rng.randint(2, 4),
        },
    }
    # drawn apart, so that adding a choice keeps the schedules of earlier versions (and the seeds named in the tests)
    setup["backend"] = random.Random(f"{seed}/backend").choice(["rest"] * 6 + ["soap"])
    events: list[dict[str, Any]] = []
    counter = [0]

    def event(at: dt.datetime, do: str, **fields: Any) -> None:
        counter[0] += 1
        if do in ("run", "clear", "concurrent"):
            fields.setdefault("faults", _rates(rng))
        events.append({"at": _iso(at), "do": do, **fields})

    def manual(index: int) -> str:
        return f"manual__{seed}_{index}"

    def some_run(at: dt.datetime, past: list[dt.datetime]) -> dict[str, Any]:
        """A run of any kind, for a concurrent pair."""
        choice = rng.random()
        if choice < 0.35 and past:
            return _hour_run(rng.choice(["scheduled", "backfill"]), rng.choice(past))
        if choice < 0.55:
            return {"dag": HOURLY, "run_id": manual(counter[0] * 10 + rng.randint(0, 9)), "mode": "ids", "order_pick": [rng.randrange(1000) for _ in range(rng.randint(1, 4))]}
        if choice < 0.7:
            return {"dag": NIGHTLY, "run_id": f"manual__nightly_{counter[0]}_{rng.randint(0, 9)}", "mode": "recheck"}
        if choice < 0.85:
            return {"dag": PAYMENTS, "run_id": f"manual__payments_{counter[0]}_{rng.randint(0, 9)}"}
        return {"clear": rng.randrange(1000)}

    if rng.random() < 0.6:  # the migration: the days before go-live in one wide window
        event(T0 + dt.timedelta(minutes=1), "run", run={"dag": HOURLY, "run_id": manual(0), "mode": "window", "since": _iso(T0 - dt.timedelta(days=3)), "until": _iso(T0)})
    past: list[dt.datetime] = [T0 - dt.timedelta(hours=h) for h in range(1, 4)]
    for h in range(hours):
        start = T0 + dt.timedelta(hours=h)
        for minute in sorted(rng.sample(range(2, 58), rng.randint(0, 4))):
            at = start + dt.timedelta(minutes=minute)
            what, args = _world_event(rng)
            event(at, "world", what=what, args=args)
        end = start + dt.timedelta(hours=1)
        past.append(start)
        if rng.random() < 0.8:
            event(end + dt.timedelta(minutes=2), "run", run=_hour_run("scheduled", start))
        extra = end + dt.timedelta(minutes=10)
        for _ in range(rng.choice([0, 1, 1, 2])):
            extra += dt.timedelta(minutes=rng.randint(1, 8))
            kind = rng.choices(["clear", "reprocess", "backfill", "nightly", "payments", "concurrent", "wide"], weights=[2, 1.5, 1.5, 1.5, 2, 3, 0.7])[0]
            if kind == "clear":
                event(extra, "clear", pick=rng.randrange(1000))
            elif kind == "reprocess":
                event(extra, "run", run={"dag": HOURLY, "run_id": manual(counter[0]), "mode": "ids", "order_pick": [rng.randrange(1000) for _ in range(rng.randint(1, 4))]})
            elif kind == "backfill":
                event(extra, "run", run=_hour_run("backfill", rng.choice(past)))
            elif kind == "nightly":
                event(extra, "run", run={"dag": NIGHTLY, "run_id": f"scheduled__{_iso(extra)}", "mode": "recheck"})
            elif kind == "payments":
                event(extra, "run", run={"dag": PAYMENTS, "run_id": f"scheduled__{_iso(extra)}"})
            elif kind == "wide":
                since = rng.choice(past)
                event(extra, "run", run={"dag": HOURLY, "run_id": manual(counter[0]), "mode": "window", "since": _iso(since), "until": _iso(end)})
            else:
                event(extra, "concurrent", runs=[some_run(extra, past), some_run(extra, past)], switch=rng.choice([0.2, 0.5, 0.8]))
    events.sort(key=lambda e: e["at"])  # stable: events at one minute keep their order
    during = random.Random(f"{seed}/during")  # drawn apart: the schedules of earlier versions stay as they were
    for item in events:
        if item["do"] == "concurrent" and during.random() < 0.35:  # the shop or the bookkeeper acts while runs run
            what, args = _world_event(during)
            item["runs"].append({"world": what, "args": args})
    return Schedule(seed, setup, events)


# ---- execution ----------------------------------------------------------------------------------------------------


def _faults_of(event: dict[str, Any], seed: int, index: int) -> EventFaults:
    spec = event.get("faults") or {}
    if "plan" in spec:
        return EventFaults(plan={(target, int(n)): kind for target, n, kind in spec["plan"]})
    if "rates" in spec:
        return EventFaults(rates=FaultRates(**spec["rates"]), seed=f"{seed}/{index}")
    return EventFaults()


def _resolve(world: World, run: dict[str, Any], index: int) -> dict[str, Any] | None:
    """A run as it runs now: a clear picks a run that ran, a reprocess picks the orders the bookkeeper selects."""
    if "clear" in run:
        if not world.runs:
            return None
        return dict(world.runs[run["clear"] % len(world.runs)])
    run = dict(run)
    if run.get("mode") == "ids" and "order_ids" not in run:
        rows = world.real_store.get_orders(world.config.tenant, world._ids("orders"))
        selectable = sorted(oid for oid, row in rows.items() if row["state"] != "booked") or sorted(rows) or world._ids("orders")
        run["order_ids"] = sorted({selectable[p % len(selectable)] for p in run["order_pick"]}) if selectable else []
    return run


def execute(schedule: Schedule, *, settle: bool = True, trace: bool = False) -> Result:
    """Run a schedule in a fresh world and check the invariants."""
    holder: list[World] = []
    with patched(holder):
        world = World(schedule.seed, schedule.setup)
        holder.append(world)
        result = Result(schedule.seed, [])
        boundary = world.boundary
        boundary.enabled = True
        for index, event in enumerate(schedule.events):
            world.advance(dt.datetime.fromisoformat(event["at"]))
            boundary.begin_event(index, _faults_of(event, schedule.seed, index))
            what = _do(world, event, index, result)
            result.log.append(f"{index:3d} {event['at']} {what}")
            if result.first_broken is None and safety(world, payments=False):
                result.first_broken = index
        boundary.enabled = False
        if settle:
            _settle(world, result)
        result.violations = check(world) if settle else safety(world) + list(world.problems)
        result.fired = list(boundary.fired)
        result.crossings = boundary.crossings
        result.digest = _digest(world, result)
        result.world = world
        if trace:
            result.log += [f"    {f.event:3d} {f.target} #{f.occurrence}: {f.kind}" for f in result.fired]
    return result


def _do(world: World, event: dict[str, Any], index: int, result: Result) -> str:
    do = event["do"]
    if do == "world":
        result.counts[f"world {event['what']}"] += 1
        return str(getattr(world, event["what"])(**event["args"]))
    if do in ("run", "clear"):
        run = _resolve(world, event["run"] if do == "run" else {"clear": event["pick"]}, index)
        if run is None:
            return f"{do}: nothing to clear"
        result.counts["runs"] += 1
        result.counts[f"run {run['dag'].split('__')[1]} {run.get('mode', '')}".strip()] += 1
        if do == "clear":
            result.counts["runs cleared"] += 1
        return f"{'clear ' if do == 'clear' else ''}{run['run_id']}: {execute_run(world, run)}"
    # concurrent: two runs interleaved at every crossing, deterministically
    runs = [_resolve(world, run, index) for run in event["runs"] if "world" not in run]
    actors = [run for run in runs if run is not None]
    if len({run["run_id"] for run in actors}) < len(actors):  # one run cannot run twice at once: Airflow would not
        actors = actors[:1]
    if not actors:
        return "concurrent: nothing to run"
    changes = [change for change in event["runs"] if "world" in change]  # the shop or the bookkeeper, meanwhile
    result.counts["concurrent pairs"] += 1
    result.counts["runs"] += len(actors)
    result.counts.update(f"world {change['world']} during runs" for change in changes)
    interleaver = Interleaver(f"{world.seed}/{index}/interleave", event.get("switch", 0.5))
    world.boundary.interleaver = interleaver
    steps: list[Callable[[], Any]] = [lambda run=run: execute_run(world, run) for run in actors]
    steps += [lambda change=change: getattr(world, change["world"])(**change["args"]) for change in changes]
    names = [run["run_id"] for run in actors] + [change["world"] for change in changes]
    try:
        outcomes = interleaver.run(steps)
    finally:
        world.boundary.interleaver = None
    result.counts["switches"] += interleaver.switches
    for name, (status, value) in zip(names, outcomes, strict=True):
        if status == "exc":  # execute_run catches what a task raises: anything here is the harness's or a bug
            world.problems.append(f"concurrent {name} raised {type(value).__name__}: {value}")
    return " ∥ ".join(f"{name}: {value if status == 'ok' else 'raised'}" for name, (status, value) in zip(names, outcomes, strict=True))


def _settle(world: World, result: Result) -> None:
    """Fault-free, an hour after the last event (claims of killed tasks have expired): what the next days of a real
    deployment do — the hours no run read yet (missed, or whose run failed) each read once, the nightly recheck, the
    payments."""
    world.advance(world.now + dt.timedelta(hours=1))
    until = world.now.replace(minute=0) + dt.timedelta(hours=1)
    runs = [
        {"dag": HOURLY, "run_id": f"settle__window_{_iso(start)}", "mode": "window", "since": _iso(start), "until": _iso(end)}
        for start, end in _unread(world, T0 - dt.timedelta(days=4), until)
    ]
    runs += [{"dag": NIGHTLY, "run_id": "settle__nightly", "mode": "recheck"}, {"dag": PAYMENTS, "run_id": "settle__payments"}]
    for run in runs:
        result.log.append(f"settle {run['run_id']}: {execute_run(world, run)}")


def _unread(world: World, since: dt.datetime, until: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The spans of hours in [since, until) whose orders or credit slips no run has read (whole hours, merged)."""

    def read(hour: dt.datetime, what: str) -> bool:
        return any(start <= hour and hour + dt.timedelta(hours=1) <= end for start, end in world.covered[what])

    spans: list[tuple[dt.datetime, dt.datetime]] = []
    hour = since
    while hour < until:
        if not (read(hour, "orders") and read(hour, "slips")):
            if spans and spans[-1][1] == hour:
                spans[-1] = (spans[-1][0], hour + dt.timedelta(hours=1))
            else:
                spans.append((hour, hour + dt.timedelta(hours=1)))
        hour += dt.timedelta(hours=1)
    return spans


def _digest(world: World, result: Result) -> str:
    """A fingerprint of the end state: the store's rows, e-Boekhouden's bookings and relations, the faults that fired."""
    tenant = world.config.tenant
    orders = world.real_store.get_orders(tenant, world._ids("orders"))
    credits = world.real_store.get_credits(tenant, world._ids("order_slip"))
    state = {
        "orders": sorted((k, r["state"], r["sales_number"], str(r["amount_incl"]), r["relation_id"], r["error_code"]) for k, r in orders.items()),
        "credits": sorted((k, r["state"], r["sales_number"], str(r["amount_incl"])) for k, r in credits.items()),
        "mutations": [(m["id"], m["type"], m["invoiceNumber"], str(m["amount"]), m["relationId"]) for m in world.books.mutations()],
        "relations": [(r["id"], r["code"], r["emailAddress"]) for r in world.books.relations()],
        "fired": [(f.event, f.target, f.occurrence, f.kind) for f in result.fired],
    }
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:16]


def fault_counts(fired: list[Fired]) -> Counter[str]:
    """Faults by kind (kills by the step they followed)."""
    return Counter(kill_name(f.target) if f.kind == "kill" else f.kind for f in fired)


def with_plan(schedule: Schedule, fired: list[Fired]) -> Schedule:
    """The same schedule with each run's faults given as the explicit plan of those that fired (replays exactly)."""
    events = []
    by_event: dict[int, list[list[Any]]] = {}
    for fault in fired:
        by_event.setdefault(fault.event, []).append(fault.as_list())
    for index, event in enumerate(schedule.events):
        event = dict(event)
        if event["do"] in ("run", "clear", "concurrent"):
            event["faults"] = {"plan": by_event.get(index, [])}
        events.append(event)
    return Schedule(schedule.seed, schedule.setup, events)


__all__ = ["FAULTS", "Result", "Schedule", "execute", "fault_counts", "generate", "with_plan"]
