"""The dashboard's side of Airflow's runs: start one (Process, Run), read where it stands, and say in words what a
queued run waits for — the run ahead of it (a tenant's DAG runs one run at a time), a paused DAG, or the scheduler.

The API server reads Airflow's metadata DB directly (these functions run inside it); the DAG runs are made with
``airflow.api.common.trigger_dag`` as the UI's trigger button makes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from fastapi import HTTPException

from prestashop_eboekhouden.store import FINAL, StateStore

HOURLY = "{tenant}__orders_hourly"
PAYMENTS = "{tenant}__payments_daily"
DAG_KINDS = {"orders_hourly": HOURLY, "payments_daily": PAYMENTS}
WHY_ONE_AT_A_TIME = "a webshop's DAG runs one run at a time (max_active_runs 1), so a Process waits until the run before it ends"


def _moment(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else None


def run_state(dag_id: str, run_id: str, tz: str | None = None) -> dict | None:
    """State and note of a DAG run (the API server reads Airflow's metadata DB), and what it waits for when queued
    (times in the tenant's zone ``tz``)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one_or_none()
        if run is None:
            return None
        answer = {"dag_id": dag_id, "dag_run_id": run_id, "state": str(run.state), "note": run.note, "url": f"/dags/{dag_id}/runs/{run_id}"}
        answer["waiting"] = waiting_behind(session, dag_id, run, tz) if str(run.state) == "queued" else None
        return answer


def waiting_behind(session: Any, dag_id: str, run: Any, tz: str | None = None) -> dict:
    """Why a queued run has not started: {"why", "behind", "url", "since", "note"} — the active run ahead of it, a paused
    DAG, or nothing but the scheduler (it starts within a few seconds). "why" reads after "it": "it waits behind …"."""
    from airflow.models import DagModel, DagRun
    from airflow.utils.state import DagRunState

    dag = session.query(DagModel).filter(DagModel.dag_id == dag_id).one_or_none()
    if dag is not None and dag.is_paused:
        return {"why": f"waits because {dag_id} is paused in Airflow: unpause it (the toggle on its page) and this run starts", "behind": None, "url": f"/dags/{dag_id}"}
    ahead = (
        session.query(DagRun)
        .filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.RUNNING, DagRun.id != run.id)
        .order_by(DagRun.start_date)
        .first()
    )
    if ahead is None:
        ahead = (
            session.query(DagRun)
            .filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED, DagRun.id < run.id)
            .order_by(DagRun.id)
            .first()
        )
    if ahead is None:
        return {"why": "waits for Airflow's scheduler to start it (normally a few seconds)", "behind": None, "url": None}
    started = ahead.start_date or ahead.queued_at
    kind = str(getattr(ahead, "run_type", "") or "").removeprefix("DagRunType.").lower() or "run"
    shown = f"{pendulum.instance(started).in_timezone(tz or 'UTC'):%Y-%m-%d %H:%M} ({tz or 'UTC'})" if started else None
    return {
        "why": f"waits behind {kind} run {ahead.run_id} ({str(ahead.state)} since {shown}): {WHY_ONE_AT_A_TIME}"
        if shown else f"waits behind {kind} run {ahead.run_id} ({str(ahead.state)}): {WHY_ONE_AT_A_TIME}",
        "behind": ahead.run_id, "url": f"/dags/{dag_id}/runs/{ahead.run_id}", "since": _moment(started), "note": ahead.note,
    }


def pending_reprocess(dag_id: str) -> Any:
    """A Process run of the DAG that is still queued (it has not started: a second click joins it)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        run = (
            session.query(DagRun)
            .filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED, DagRun.run_id.like("reprocess\\_\\_%", escape="\\"))
            .order_by(DagRun.id.desc())
            .first()
        )
        if run is None:
            return None
        session.expunge(run)
        return run


def start_run(dag_id: str, user: Any, conf: dict, note: str, prefix: str = "reprocess", tz: str | None = None) -> dict:
    """Trigger one run of a DAG as the UI does; its id, link, and what it waits for."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    run_id = f"{prefix}__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    dag_run = trigger_dag(
        dag_id, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=getattr(user, "get_name", lambda: None)(),
        run_id=run_id, conf=conf, note=note,
    )
    if dag_run is None:
        raise HTTPException(409, f"{dag_id} could not be triggered")
    state = run_state(dag_id, dag_run.run_id, tz) or {}
    return {"dag_id": dag_id, "dag_run_id": dag_run.run_id, "url": f"/dags/{dag_id}/runs/{dag_run.run_id}", "waiting": state.get("waiting")}


def reprocess(
    store: StateStore, tenant: str, order_ids: list[int], user: Any, slip_ids: list[int] = (), payment_ids: list[int] = (),  # type: ignore[assignment]
    payments_dag: bool = False, tz: str | None = None,
) -> dict:
    """Trigger the tenant's hourly DAG for the chosen orders and credit slips that are neither booked nor worked off (a
    slip is processed through its order: the run checks the order's slips in Open and in Errors), and its payments DAG
    for chosen refused payments.

    While an earlier Process of the tenant is still queued, another one is not queued behind it: the answer is 409
    naming that run (the orders it carries are processed first; press Process again when it has started)."""
    known = store.get_orders(tenant, order_ids)
    wanted = [oid for oid in dict.fromkeys(order_ids) if oid in known and known[oid]["state"] not in FINAL]
    skipped: dict[Any, str] = {oid: ("already booked" if known[oid]["state"] == "booked" else "worked off") if oid in known else "unknown order" for oid in order_ids if oid not in wanted}
    slips = store.get_credits(tenant, slip_ids)
    for sid in dict.fromkeys(slip_ids):
        if sid in slips and slips[sid]["state"] not in FINAL:
            wanted.append(slips[sid]["order_id"])
        else:
            skipped[f"slip {sid}"] = "unknown credit slip" if sid not in slips else "already booked or worked off"
    wanted = list(dict.fromkeys(wanted))
    pays = store.get_payments(tenant, payment_ids)
    payments_wanted = [pid for pid in dict.fromkeys(payment_ids) if pid in pays and pays[pid]["state"] not in FINAL]
    skipped.update({f"payment {pid}": "unknown payment" if pid not in pays else "already booked or worked off" for pid in payment_ids if pid not in payments_wanted})
    if payments_wanted and not payments_dag:
        skipped.update({f"payment {pid}": "payments are not booked for this webshop (payments.enabled)" for pid in payments_wanted})
        payments_wanted = []
    if not wanted and not payments_wanted:
        raise HTTPException(409, {"message": "Nothing to process", "skipped": skipped})
    runs: list[dict] = []
    if wanted:
        dag_id = HOURLY.format(tenant=tenant)
        queued = pending_reprocess(dag_id)
        if queued is not None:
            carried = list((queued.conf or {}).get("order_ids") or [])
            raise HTTPException(
                409,
                {
                    "message": f"A Process of {len(carried)} order(s) is still waiting to start ({queued.run_id}); try again once it runs",
                    "dag_run_id": queued.run_id, "url": f"/dags/{dag_id}/runs/{queued.run_id}", "order_ids": carried,
                    "waiting": (run_state(dag_id, queued.run_id, tz) or {}).get("waiting"),
                },
            )
        run = start_run(dag_id, user, {"order_ids": wanted}, f"Process {len(wanted)} order(s) from the bookkeeping dashboard", tz=tz)
        runs.append({**run, "order_ids": wanted, "slip_ids": [s for s in slip_ids if s in slips], "dag": "orders_hourly"})
    if payments_wanted:
        run = start_run(PAYMENTS.format(tenant=tenant), user, {}, f"Process {len(payments_wanted)} payment(s) from the bookkeeping dashboard", tz=tz)
        runs.append({**run, "payment_ids": payments_wanted, "dag": "payments_daily"})
    first = runs[0]
    return {**first, "order_ids": first.get("order_ids", []), "skipped": {str(k): v for k, v in skipped.items()}, "runs": runs}
