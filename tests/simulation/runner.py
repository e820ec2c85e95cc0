"""Runs of the DAGs, task by task, the way Airflow runs them — but in-process, with the pipeline steps the operators
call (``pipeline/``), against the world's in-process hooks and store.

A task attempt gets fresh hooks (a new process per attempt in Airflow) and the owner id the operators use
(``dag/run/task/map_index``: a retry of a task, or the task of a cleared run, takes its claims back). A task that
fails — TransientError, ApiError, BookingIncomplete, or killed — is retried up to ``RETRIES`` times; then it has
failed, its downstream tasks do not run, and ``book_credits`` and ``report`` (trigger rule all_done) run anyway.
Any other exception is a bug in the code under test: it is recorded (the schedule fails) and treated as a failed
attempt, as Airflow would.
"""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Callable
from typing import Any

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.hooks.base import ApiError, TransientError
from prestashop_eboekhouden.pipeline.booking import BookingIncomplete, SaleBooker
from prestashop_eboekhouden.pipeline.credits import CreditBooker, check_slips, waiting_slips, window_slips
from prestashop_eboekhouden.pipeline.orders import extract_ids, extract_window, validate
from prestashop_eboekhouden.pipeline.payments import PaymentBooker, extract_payments
from prestashop_eboekhouden.pipeline.recheck import recheck_candidates

from .faults import Killed
from .world import World

RETRIES = 3  # dag_factory's default_args
EXPECTED = (TransientError, ApiError, BookingIncomplete, Killed)
HOURLY, NIGHTLY, PAYMENTS = "sim__orders_hourly", "sim__open_orders_nightly", "sim__payments_daily"


def _no_sleep(_seconds: float) -> None:
    """A retry's back-off takes no time in a simulation."""


class Task:
    """What one attempt of a task works with."""

    def __init__(self, world: World, run: dict[str, Any], task_id: str, map_index: int, reference: dict[str, Any]):
        self.world, self.run = world, run
        self.config: TenantConfig = world.config
        self.store = world.store
        self.shop = world.shop_hook()
        self.shop.use_reference_data(reference)  # what the run's extract and validate left in XCom (REFERENCE_XCOM)
        self.eb = world.books_hook()
        self.owner = f"{run['dag']}/{run['run_id']}/{task_id}/{map_index}"
        self.run_id: str = run["run_id"]


SHARES_REFERENCE = ("extract_orders", "recheck_open_orders", "validate_orders")  # operators.tasks.REFERENCE_TASKS


def attempt_task(world: World, run: dict[str, Any], task_id: str, body: Callable[[Task], Any], map_index: int = -1) -> tuple[bool, Any]:
    """A task with its retries: (succeeded, its result)."""
    reference = run.setdefault("_reference", {})
    for attempt in range(1 + RETRIES):
        task = Task(world, run, task_id, map_index, reference)
        try:
            result = body(task)
            if task_id in SHARES_REFERENCE:
                reference.update(task.shop.reference_data())
            return True, result
        except EXPECTED as exc:
            world.run_outcomes.append((f"{run['run_id']}/{task_id}/{map_index}#{attempt}", type(exc).__name__))
        except Exception as exc:  # noqa: BLE001 - a bug of the code under test: recorded, and the task fails like any
            world.problems.append(f"unexpected {type(exc).__name__} in {run['run_id']} {task_id}[{map_index}]: {exc}\n{traceback.format_exc(limit=8)}")
    return False, None


def run_orders(world: World, run: dict[str, Any]) -> str:
    """The hourly DAG (a window, or chosen orders) or the nightly one: extract → validate → book[i] → book_credits."""
    config = world.config
    mode = run["mode"]  # window | ids | recheck
    since = until = None
    if mode == "window":
        since, until = dt.datetime.fromisoformat(run["since"]), dt.datetime.fromisoformat(run["until"])

    def extract(task: Task) -> list[int]:
        if mode == "window":
            assert since is not None and until is not None
            return extract_window(config, task.shop, task.store, since, until, task.run_id).to_process
        if mode == "ids":
            return extract_ids(config, task.shop, task.store, run["order_ids"], task.run_id).to_process
        candidates, _ = recheck_candidates(config, task.store, world.today, task.run_id)
        return extract_ids(config, task.shop, task.store, candidates, task.run_id).to_process if candidates else []

    ok, to_process = attempt_task(world, run, "recheck_open_orders" if mode == "recheck" else "extract_orders", extract)
    if ok and since is not None and until is not None:
        world.covered["orders"].append((since, until))
    failed = not ok
    if ok and to_process:
        ok, batches = attempt_task(world, run, "validate_orders", lambda task: validate(config, task.shop, task.store, to_process, task.run_id).batches)
        failed = failed or not ok
        for index, batch in enumerate(batches or []):

            def book(task: Task, batch: list[int] = batch) -> dict[str, Any]:
                outcome = SaleBooker(config, task.eb, task.store, task.owner, task.run_id, sleep=_no_sleep).book(batch)
                if outcome.pending:
                    raise BookingIncomplete(f"{len(outcome.pending)} orders not booked yet")
                return outcome.as_xcom()

            ok, _ = attempt_task(world, run, "book_orders", book, index)
            failed = failed or not ok

    def credits(task: Task) -> dict[str, Any]:
        raws: dict[int, dict] = {}
        if mode == "recheck":
            ids = waiting_slips(config, task.store, decided_only=False)
        elif mode == "ids":
            ids = waiting_slips(config, task.store, decided_only=False, order_ids=run["order_ids"])
        else:
            assert since is not None and until is not None
            ids, raws = window_slips(config, task.shop, task.store, since, until, task.run_id)
        checked = check_slips(config, task.shop, task.store, ids, task.run_id, raws)
        if not checked.ready:
            return checked.counts()
        outcome = CreditBooker(config, task.eb, task.store, task.owner, task.run_id, sleep=_no_sleep).book(checked.ready)
        if outcome.pending:
            raise BookingIncomplete(f"{len(outcome.pending)} credit slips not booked yet")
        return outcome.as_xcom()

    ok, _ = attempt_task(world, run, "book_credits", credits)  # trigger rule all_done: runs whatever happened before
    if ok and since is not None and until is not None:
        world.covered["slips"].append((since, until))
    failed = failed or not ok
    return "failed" if failed else "success"


def run_payments(world: World, run: dict[str, Any]) -> str:
    """The daily payments DAG: extract_payments → book_payments[i]."""
    config = world.config
    ok, batches = attempt_task(world, run, "extract_payments", lambda task: extract_payments(config, task.shop, task.store, world.today, task.run_id).batches)
    failed = not ok
    for index, batch in enumerate(batches or []):

        def book(task: Task, batch: list[int] = batch) -> dict[str, Any]:
            outcome = PaymentBooker(config, task.eb, task.store, task.owner, task.run_id, sleep=_no_sleep).book(batch)
            if outcome.pending:
                raise BookingIncomplete(f"{len(outcome.pending)} payments not booked yet")
            return outcome.as_xcom()

        ok, _ = attempt_task(world, run, "book_payments", book, index)
        failed = failed or not ok
    return "failed" if failed else "success"


def execute_run(world: World, run: dict[str, Any]) -> str:
    """One DAG run of any kind (a cleared run starts without the XCom of its first try)."""
    run = {k: v for k, v in run.items() if k != "_reference"}
    world.runs.append(run)
    return run_payments(world, run) if run["dag"] == PAYMENTS else run_orders(world, run)
