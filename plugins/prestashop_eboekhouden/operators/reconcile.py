"""The operator of ``<tenant>__reconcile_daily``: thin wiring of hooks → pipeline/reconcile.py → the store. Read only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.sdk import Context

from prestashop_eboekhouden.assets import DIFFERENCES, emit_if_booked, origin
from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.operators.tasks import CannotRun, TenantOperator

MAX_PERIOD_DAYS = 370  # a year (and a few days): what one run may be asked to reconcile


def reconcile_period(context: Context, config: TenantConfig) -> tuple[dt.date, dt.date]:
    """The run's period: params since/until (days, both included), else yesterday in the tenant's time zone (the day
    before the run's logical date, or before it was triggered)."""
    params = context.get("params") or {}

    def day(name: str) -> dt.date | None:
        value = params.get(name)
        if value in (None, ""):
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise CannotRun(f"Param {name} must be a date such as 2026-11-20, not {value!r}") from None

    since, until = day("since"), day("until")
    if since is None and until is None:
        moment = context.get("logical_date") or getattr(context.get("dag_run"), "run_after", None) or pendulum.now("UTC")
        yesterday = pendulum.instance(moment).in_timezone(config.tz).date() - dt.timedelta(days=1)
        return yesterday, yesterday
    since, until = since or until, until or since
    assert since is not None and until is not None
    if until < since:
        raise CannotRun(f"The period {since} … {until} is empty: until must not be before since")
    if (until - since).days >= MAX_PERIOD_DAYS:
        raise CannotRun(f"The period {since} … {until} is longer than a year: reconcile it a quarter at a time")
    return since, until


def run_note(result: Any) -> str:
    """The run's note: the period and its differences per kind ("2026-11-20: 3 differences (2 new): …")."""
    period = result.since.isoformat() if result.since == result.until else f"{result.since} … {result.until}"
    kinds = {k: n for k, n in result.summary["kinds"].items() if n}
    if not kinds:
        return f"Reconciled {period}: no differences"
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    new = result.counts.get("new")
    return f"Reconciled {period}: {sum(kinds.values())} differences{f' ({new} new)' if new is not None else ''}: {listed}"


class ReconcileOperator(TenantOperator):
    """Reconciles a period (yesterday, or params since/until): the shop, what we booked and e-Boekhouden. Never books
    or changes anything; keeps its differences, totals and VAT summary in the state store for the Reconcile tab."""

    ui_color = "#eef6e8"

    def execute(self, context: Context) -> dict:
        from prestashop_eboekhouden.pipeline.reconcile import reconcile

        config = self.tenant_config()
        since, until = reconcile_period(context, config)
        store = self.state_store()
        shop = self.prestashop(config)
        eb = self.eboekhouden(config)
        self.log.info("Reconciling %s … %s (shop time)", since, until)
        try:
            result = reconcile(
                config, shop, eb, store, since, until, today=pendulum.now(config.tz).date(), run_id=context["run_id"], dag_id=context["ti"].dag_id
            )
        finally:
            eb.close_session()
        note = run_note(result)
        self.log.info("%s\n%s", note, differences_table(result.differences))
        self.log.info(
            "Compared in full: %s; PrestaShop requests: %s; e-Boekhouden requests: %s",
            result.summary["compared"], dict(shop.requests_made), dict(eb.requests_made),
        )  # fmt: skip
        store.record_run(config.tenant, context["ti"].dag_id, context["run_id"], {"note": note, "reconcile_run": result.run, **result.counts})
        # x-bookkeeping://<tenant>/differences, only when this run found new differences (assets.py)
        found = {"tenant": config.tenant, "kind": DIFFERENCES, "since": since.isoformat(), "until": until.isoformat(), "note": note,
                 "kinds": result.summary["kinds"], "new": result.counts.get("new"), "reconcile_run": result.run}  # fmt: skip
        emit_if_booked(context, self.outlets, config.tenant, DIFFERENCES, {**found, **origin(context)}, int(result.counts.get("new") or 0))
        return {"run": result.run, "since": since.isoformat(), "until": until.isoformat(), **result.counts, "kinds": result.summary["kinds"]}


def differences_table(differences: list) -> str:
    """The differences as a text table for the task log."""
    if not differences:
        return "(no differences)"
    money = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
    rows = [("kind", "subject", "date", "reference", "sales number", "shop", "booked", "e-Boekhouden")]
    rows += [(d.kind, d.subject, str(d.date or ""), d.reference, d.sales_number, money(d.shop), money(d.booked), money(d.books)) for d in differences[:200]]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    if len(differences) > 200:
        lines.append(f"… and {len(differences) - 200} more (the Reconcile tab has them all)")
    return "\n".join(lines)
