"""Deadline alerts per tenant (Airflow 3's ``DeadlineAlert``): an e-mail when a run has not finished in time.

- ``<tenant>__orders_hourly``: not finished ``deadlines.hourly_minutes`` (45) after the end of its hour;
- ``<tenant>__open_orders_nightly``: not finished by ``deadlines.nightly_by`` (06:00, tenant time);
- ``<tenant>__payments_daily``: not finished by ``deadlines.payments_by`` (09:00, tenant time).

Airflow keeps a deadline per DAG run, checks it in the scheduler, and when it passes before the run succeeded,
runs the callback (here :func:`deadline_missed`, by its import path) on the executor: it e-mails
``notify.email`` through the SMTP provider, as the run's other notifications do.

Airflow 3.3's built-in references cannot say "after the run's hour": ``DAGRUN_LOGICAL_DATE`` is the *start* of
a data interval (and missing on runs triggered without a logical date), ``DAGRUN_QUEUED_AT`` counts from when
a run was queued, and an interval is a fixed ``timedelta``, never a time of day (so "by 06:00" would move by an
hour on the nights the clocks change). :class:`BookkeepingDue` is a custom reference (registered by the
plugin, evaluated by the scheduler when it creates a run) that says it: the end of the run's data interval
(its hour; for the daily DAGs their scheduled time), or when it was queued if that is later; with ``clock``,
the first such time of day after that, in the tenant's time zone. Backfill runs get no deadline: a migration
of months queues every hour at once, and they would all be "late".

The callback runs in a supervised process on the executor with a "workload" token, which Airflow 3.3.2's Execution
API does not accept for connections or variables: the SMTP connection must come from the environment
(``AIRFLOW_CONN_<ID>``) or a secrets backend, not from the metadata DB (the callback then fails with a message that
says so).

``dag.test()`` (and ``airflow dags test``) in Airflow 3.3.2 cannot finish a run of a DAG with deadline alerts: when
the run has succeeded, ``DagRun.update_state`` looks its alerts up by id in the metadata DB, but ``dag.test()``
serializes the DAG in memory and hands it the alerts themselves (``StatementError: 'dict' object has no attribute
'hex'``). With env ``PRESTA_EB_DEADLINES=off`` the DAGs are built without deadline alerts, for such test runs.

This module is imported when the DAGs are parsed: it imports nothing beyond the Task SDK until an alert fires.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

# public in airflow.sdk (resolved lazily), which its type information does not declare in 3.3.2
from airflow.sdk import BaseDeadlineReference, DeadlineAlert, SyncCallback  # type: ignore[attr-defined]

if TYPE_CHECKING:
    from prestashop_eboekhouden.config import TenantConfig

log = logging.getLogger(__name__)
CALLBACK = "prestashop_eboekhouden.deadlines.deadline_missed"
SWITCH_ENV = "PRESTA_EB_DEADLINES"  # "off": build the DAGs without deadline alerts (dag.test() in Airflow 3.3.2)
UTC = dt.UTC


def due_at(
    run_type: str | None, interval_end: dt.datetime | None, run_after: dt.datetime | None, queued_at: dt.datetime | None,
    now: dt.datetime, clock: str = "", timezone: str = "UTC",
) -> dt.datetime | None:
    """When a run's deadline counts from (pure): the end of its data interval (else its run_after), or when it was
    queued if later; with ``clock`` ("HH:MM"), the first such time of day after that, in ``timezone``. None for a
    backfill run (no deadline)."""
    import pendulum

    if run_type == "backfill":
        return None
    moments = [m for m in (interval_end or run_after, queued_at or now) if m is not None]
    due = max(m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments)
    if not clock:
        return due
    hour, minute = (int(part) for part in clock.split(":"))
    local = pendulum.instance(due).in_timezone(timezone)
    target = local.set(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target = target.add(days=1)  # a calendar day in the tenant's zone: 06:00 stays 06:00 over a DST change
    return target.in_timezone("UTC")


@dataclass(frozen=True)
class BookkeepingDue(BaseDeadlineReference):
    """Deadline reference: when a run of ours is due (see :func:`due_at`). Registered by the plugin."""

    clock: str = ""
    timezone: str = "UTC"
    required_kwargs: ClassVar[set[str]] = {"dag_id", "run_id"}

    def serialize_reference(self) -> dict[str, Any]:
        return {"reference_type": self.reference_name, "clock": self.clock, "timezone": self.timezone}

    @classmethod
    def deserialize_reference(cls, reference_data: dict[str, Any]) -> BookkeepingDue:
        return cls(clock=reference_data.get("clock") or "", timezone=reference_data.get("timezone") or "UTC")

    def _evaluate_with(self, *, session: Any, **kwargs: Any) -> dt.datetime | None:
        """The scheduler's (or, for a triggered run, the API server's) evaluation, in the session that creates the run."""
        from airflow.models import DagRun
        from sqlalchemy import select

        row = session.execute(
            select(DagRun.run_type, DagRun.data_interval_end, DagRun.run_after, DagRun.queued_at).where(
                DagRun.dag_id == kwargs["dag_id"], DagRun.run_id == kwargs["run_id"]
            )
        ).one_or_none()
        if row is None:
            return None
        run_type = getattr(row.run_type, "value", row.run_type)
        return due_at(run_type, row.data_interval_end, row.run_after, row.queued_at, dt.datetime.now(UTC), self.clock, self.timezone)


# ---- the alerts of a tenant's DAGs ----------------------------------------------------------------------------


def _minutes(value: float) -> str:
    return f"{value:g} minute{'s' if value != 1 else ''}"


def alerts_for(config: TenantConfig, which: str) -> list[DeadlineAlert] | None:
    """The deadline alerts of one of the tenant's DAGs (``hourly``, ``nightly`` or ``payments``); None without any."""
    settings = config.deadlines
    if config.notify is None or not settings.enabled or os.environ.get(SWITCH_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return None
    if which == "hourly":
        if settings.hourly_minutes is None:
            return None
        limit = f"{_minutes(settings.hourly_minutes)} after its hour"
        reference, interval = BookkeepingDue(), dt.timedelta(minutes=settings.hourly_minutes)
    else:
        clock = settings.nightly_by if which == "nightly" else settings.payments_by
        if clock is None:
            return None
        limit = f"by {clock} ({config.timezone})"
        reference, interval = BookkeepingDue(clock=clock, timezone=config.timezone), dt.timedelta(0)
    callback = SyncCallback(CALLBACK, kwargs={"tenant": config.tenant, "limit": limit})
    return [DeadlineAlert(reference=reference, interval=interval, callback=callback, name=f"not finished {limit}")]


# ---- when one is missed -----------------------------------------------------------------------------------------


def _moment(value: Any, tz: str) -> str:
    import pendulum

    if not value:
        return ""
    moment = pendulum.parse(value) if isinstance(value, str) else pendulum.instance(value)
    if not isinstance(moment, pendulum.DateTime):  # a date or a duration: shown as given
        return str(value)
    return moment.in_timezone(tz).format("YYYY-MM-DD HH:mm")


def compose(tenant: str, timezone: str, dag_run: dict, limit: str, base: str) -> tuple[str, str]:
    """Subject and HTML body of a deadline alert (pure)."""
    from urllib.parse import quote

    dag_id, run_id, state = dag_run.get("dag_id", ""), dag_run.get("dag_run_id", ""), str(dag_run.get("state") or "")
    start, end = _moment(dag_run.get("data_interval_start"), timezone), _moment(dag_run.get("data_interval_end"), timezone)
    window = f" ({start}-{end[-5:]})" if start and end and start != end else ""
    what = {"failed": "failed and has not been re-run"}.get(state, "has not finished")
    subject = f"[{tenant}] {dag_id}{window} {what} {limit}"
    esc = html.escape
    run_url = f"{base}/dags/{quote(dag_id)}/runs/{quote(run_id)}"
    tab = "payments" if dag_id.endswith("__payments_daily") else "booked"
    dashboard = f"{base}/bookkeeping/tenants/{quote(tenant)}?tab={tab}&run_id={quote(run_id)}"
    parts = [
        f"<p>Webshop <b>{esc(tenant)}</b>: the run <a href=\"{esc(run_url)}\">{esc(dag_id)} / {esc(run_id)}</a>{esc(window)} "
        f"{esc(what)} {esc(limit)}. It is <b>{esc(state or 'unknown')}</b>.</p>",
        f"<p>Queued {esc(_moment(dag_run.get('queued_at'), timezone))}, started {esc(_moment(dag_run.get('start_date'), timezone) or 'not yet')} "
        f"({esc(timezone)}).</p>",
        "<p>What to do: open the run and look at the task that is still running or waiting (a pool without free slots, "
        "a slow API, a task retrying). A failed task can be cleared: it books only what is not booked yet.</p>",
        f"<p><a href=\"{esc(dashboard)}\">What this run has booked so far</a> (the bookkeeping dashboard).</p>",
    ]
    return subject, "\n".join(parts)


def deadline_missed(tenant: str, limit: str, context: dict | None = None, **_: Any) -> None:
    """The callback of every deadline alert (Airflow imports it by its path and runs it on the executor): e-mails the
    tenant's notify addresses. Raises when the e-mail cannot be sent, so Airflow shows the callback as failed."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.notify import dashboard_base

    config = get_tenant(tenant)
    if config.notify is None:
        log.warning("Deadline missed for %s, but its tenant file has no notify section any more: no e-mail", tenant)
        return
    dag_run = (context or {}).get("dag_run") or {}
    subject, body = compose(tenant, config.timezone, dag_run, limit, dashboard_base(config.notify))
    notifier = SmtpNotifier(
        to=list(config.notify.email), from_email=config.notify.from_email, subject=subject, html_content=body, smtp_conn_id=config.notify.smtp_conn_id
    )
    try:
        notifier.notify(cast(Any, context or {}))
    except PermissionError as exc:  # AirflowSecretsBackendAccessDenied (3.3.2: the callback's token reads no connections)
        raise RuntimeError(
            f"Deadline alert for {tenant} not sent: Airflow gives deadline callbacks no access to connections kept in its "
            f"metadata database ({exc}). Give connection {config.notify.smtp_conn_id} through the environment "
            f"(AIRFLOW_CONN_{config.notify.smtp_conn_id.upper()}) or a secrets backend."
        ) from None
    log.info("Sent '%s' to %s", subject, ", ".join(config.notify.email))
