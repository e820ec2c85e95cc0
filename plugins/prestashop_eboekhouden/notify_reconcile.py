"""The reconciliation's e-mail: the differences a run found new (per tenant, as Errors are mailed), or its failure."""

from __future__ import annotations

import html
from collections.abc import Sequence

from airflow.sdk import Context

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.domain.reconcile import LABELS
from prestashop_eboekhouden.notify import MAX_LISTED, BookkeepingNotifier, compose, dashboard_base


def reconcile_url(base: str, tenant: str, since: str = "", until: str = "") -> str:
    """The dashboard's Reconcile tab of a tenant (for a period)."""
    period = f"?since={since}&until={until}" if since else ""
    return f"{base}/bookkeeping/tenants/{tenant}/reconcile{period}"


def compose_differences(tenant: str, rows: Sequence[dict], *, base: str, dag_id: str, run_id: str, since: str, until: str) -> tuple[str, str]:
    """Subject and HTML body naming each new difference (kind, document, amounts, what to do). Pure."""
    count = len(rows)
    period = since if since == until else f"{since} … {until}"
    subject = f"[{tenant}] {count} new difference{'s' if count != 1 else ''} between the shop, the books and e-Boekhouden ({period})"
    esc = html.escape
    money = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
    head = "<tr><th>Difference</th><th>Order</th><th>Reference</th><th>Sales number</th><th>Shop</th><th>Booked</th><th>e-Boekhouden</th><th>What</th><th>Next step</th></tr>"
    lines = []
    for row in list(rows)[:MAX_LISTED]:
        document = f"credit slip {row['slip_id']} ({row['order_id']})" if row.get("slip_id") else str(row.get("order_id") or "")
        cells = (LABELS.get(row["kind"], row["kind"]), document, row.get("reference") or "", row.get("sales_number") or "", money(row.get("shop")),
                 money(row.get("booked")), money(row.get("books")), row.get("detail") or "", row.get("next_step") or "")  # fmt: skip
        lines.append("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in cells) + "</tr>")
    more = f"<p>… and {count - MAX_LISTED} more.</p>" if count > MAX_LISTED else ""
    body = "\n".join([
        f"<p>Webshop <b>{esc(tenant)}</b>, reconciliation of {esc(period)} (<a href=\"{esc(base)}/dags/{esc(dag_id)}/runs/{esc(run_id)}\">{esc(run_id)}</a>): "
        "the shop, what the integration booked and e-Boekhouden differ. Nothing was changed anywhere.</p>",
        f"<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">{head}{''.join(lines)}</table>{more}",
        f"<p><a href=\"{esc(reconcile_url(base, tenant, since, until))}\">Open the Reconcile tab</a> for the totals per VAT code and what to do.</p>",
    ])  # fmt: skip
    return subject, body


def reconcile_message(context: Context, config: TenantConfig, *, on_failure: bool) -> tuple[str, str] | None:
    """What to send after a reconciliation run, or None (nothing new, or not asked for)."""
    from prestashop_eboekhouden.store import get_store
    from prestashop_eboekhouden.store_reconcile import ReconcileLedger

    settings = config.notify
    assert settings is not None
    run_id, dag_id = context["run_id"], context["ti"].dag_id
    base = dashboard_base(settings)
    if on_failure:
        if "failure" not in settings.on:
            return None
        return compose(config.tenant, [], base=base, dag_id=dag_id, run_id=run_id, failure=str(context.get("exception") or "the reconciliation failed"))
    if "differences" not in settings.on:
        return None
    ledger = ReconcileLedger(get_store())
    run = ledger.run_of(config.tenant, run_id)
    if run is None:
        return None
    rows = ledger.new_in_run(config.tenant, run["id"])
    if not rows:
        return None
    return compose_differences(config.tenant, rows, base=base, dag_id=dag_id, run_id=run_id, since=run["since"].isoformat(), until=run["until"].isoformat())


class ReconcileNotifier(BookkeepingNotifier):
    """Sends a reconciliation run's new differences (or its failure) by e-mail."""

    def message(self, context: Context, config: TenantConfig) -> tuple[str, str] | None:
        return reconcile_message(context, config, on_failure=self.on_failure) if config.notify is not None else None


def reconcile_callbacks(config: TenantConfig) -> dict[str, list]:
    """on_success_callback / on_failure_callback of the reconcile task (none without a notify section)."""
    if config.notify is None:
        return {}
    return {
        "on_success_callback": [ReconcileNotifier(tenant=config.tenant, kind="reconcile")],
        "on_failure_callback": [ReconcileNotifier(tenant=config.tenant, kind="reconcile", on_failure=True)],
    }
