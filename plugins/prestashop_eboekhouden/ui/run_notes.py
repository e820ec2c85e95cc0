"""Sets each finished run's note in Airflow from its report ("12 booked, 3 to Errors: 1041 (MUT_109), …").

A task cannot write a run's note (tasks reach the metadata DB only through the Execution API, which has no
call for it), so an Airflow listener does it where the run's state changes: in the scheduler (and in
``dag.test()``), inside the session that saves the run. A run whose orders all landed in Errors then does
not look like any other green run in the grid.
"""

from __future__ import annotations

import logging

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)
SUFFIXES = ("__orders_hourly", "__open_orders_nightly", "__payments_daily", "__reconcile_daily")


IDLE_NOTE = "No orders in this run"


def note_for(dag_id: str, run_id: str, succeeded: bool = False) -> str | None:
    """The note the run's report recorded in the state store, if it is one of ours. An hourly run that
    succeeded without a report is an idle hour (extract found nothing and skipped the rest): it says so."""
    if not dag_id.endswith(SUFFIXES):
        return None
    from prestashop_eboekhouden.store import get_store

    tenant = dag_id.rsplit("__", 1)[0]
    summary = get_store().run_summary(tenant, dag_id, run_id)
    note = (summary or {}).get("note")
    if not note and succeeded and dag_id.endswith("__orders_hourly"):
        return IDLE_NOTE
    return note


def merged(current: str | None, note: str) -> str:
    """The run's note: ours, after the one the dashboard's Process gave it ("Process 2 order(s) … → 1 booked, …")."""
    if not current or note in current:
        return current or note
    return f"{current} → {note}"[:1000]


def _set_note(dag_run, prefix: str = "", succeeded: bool = False) -> None:
    """The note joins the session that saves the run's new state (the scheduler's); a run handed over
    detached (``dag.test()``) gets it in a session of its own."""
    from sqlalchemy.orm import object_session

    try:
        note = note_for(dag_run.dag_id, dag_run.run_id, succeeded)
        if not note:
            return
        text = (prefix + note)[:1000]
        if object_session(dag_run) is not None:
            dag_run.note = merged(dag_run.note, text)
            return
        from airflow.models import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            run = session.query(DagRun).filter(DagRun.dag_id == dag_run.dag_id, DagRun.run_id == dag_run.run_id).one_or_none()
            if run is not None:
                run.note = merged(run.note, text)
    except Exception:  # noqa: BLE001 - a note is not worth disturbing the scheduler
        log.exception("Could not set the note of %s / %s", dag_run.dag_id, dag_run.run_id)


@hookimpl
def on_dag_run_success(dag_run, msg: str) -> None:
    """A run finished well: its note says what it booked and what went to Errors."""
    _set_note(dag_run, succeeded=True)


@hookimpl
def on_dag_run_failed(dag_run, msg: str) -> None:
    """A run failed: its note still says what it did before."""
    _set_note(dag_run, "Failed. ")
