"""An hour in which no order changed costs one task start: extract_orders skips the rest of the run."""

from __future__ import annotations

import datetime as dt

import pytest

from prestashop_eboekhouden.store import BOOKED

from .conftest import customer, line, run_dag, sale_mutations

pytestmark = pytest.mark.airflow
HOURLY = "demo__orders_hourly"


def task_states(run) -> dict[str, list[str]]:
    """task_id → the states of its task instances (mapped tasks: one per batch) in this run."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state).filter_by(dag_id=run.dag_id, run_id=run.run_id).all()
    states: dict[str, list[str]] = {}
    for task_id, _, state in sorted(rows):
        states.setdefault(task_id, []).append(str(state.value if hasattr(state, "value") else state))
    return states


def test_an_idle_hour_runs_extract_only_and_a_busy_hour_runs_every_task(make_sandbox, state_store):
    sandbox = make_sandbox()
    who = customer("idle.hour@example.nl", "Ida", "Uur")
    spec = {**who, "lines": [line("Earl Grey 100 g", "6.95")], "state": 2, "date_add": "2026-11-20 10:30:00", "date_upd": "2026-11-20 10:30:00",
            "payment": "iDEAL", "module": "mollie"}
    oid = int(sandbox.shop.create_order(spec)["id"])

    idle = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 10))  # [09:00, 10:00): no order changed
    assert idle.state == "success"
    # no credit slip in the hour and none waiting: book_credits is skipped too, one task start in all
    assert task_states(idle) == {"extract_orders": ["success"], "validate_orders": ["skipped"], "book_orders": ["skipped"], "report": ["skipped"],
                                 "book_credits": ["skipped"]}
    assert state_store.get_orders("demo", [oid]) == {}  # not seen, not lost: its own hour books it
    assert sale_mutations(sandbox) == []
    assert sandbox.books.stats.count() == sandbox.books.soap_stats.count() == 0  # e-Boekhouden was not called at all

    busy = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11))  # [10:00, 11:00): the order
    assert busy.state == "success"
    states = task_states(busy)
    assert states["extract_orders"] == states["validate_orders"] == states["report"] == ["success"]
    assert states["book_orders"] and set(states["book_orders"]) == {"success"}
    assert state_store.get_orders("demo", [oid])[oid]["state"] == BOOKED
    assert sandbox.books.stats.count() + sandbox.books.soap_stats.count() > 0  # the counters above do count
    assert [m["invoiceNumber"] for m in sale_mutations(sandbox)] == [state_store.get_orders("demo", [oid])[oid]["sales_number"]]


def test_an_hour_with_only_orders_waiting_for_a_status_still_reports(make_sandbox, state_store):
    """Orders seen but not bookable yet are recorded as Open: the run reports them (not an idle hour)."""
    sandbox = make_sandbox()
    spec = {**customer("wacht@example.nl", "Wim", "Wacht"), "lines": [line("Rooibos", "5.45", "9")], "state": 1,
            "date_add": "2026-11-20 10:30:00", "date_upd": "2026-11-20 10:30:00", "payment": "Bank wire", "module": "ps_wirepayment"}
    oid = int(sandbox.shop.create_order(spec)["id"])
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11))
    assert run.state == "success"
    states = task_states(run)
    assert states["extract_orders"] == states["validate_orders"] == states["report"] == ["success"]
    assert state_store.get_orders("demo", [oid])[oid]["state"] == "open"


def test_a_credit_slip_in_an_hour_without_changed_orders_is_still_booked(make_sandbox, state_store):
    """A refund days after the order need not touch the order: the hour's slip is booked though the orders are skipped."""
    from .test_credit_slips import slip, tea_order

    sandbox = make_sandbox()
    oid = tea_order(sandbox)  # updated 10:30
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    sid = slip(sandbox, oid, at="2026-11-20 11:40:00")
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12))
    assert run.state == "success"
    states = task_states(run)
    assert states["validate_orders"] == ["skipped"] and states["book_credits"] == ["success"], states
    assert state_store.get_credits("demo", [sid])[sid]["state"] == BOOKED
