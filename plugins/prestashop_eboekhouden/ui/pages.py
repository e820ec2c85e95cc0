"""What the dashboard's pages and its JSON listings show of a tenant: one listing function for both (so the counts, the
rows and their words are the same on every page), and the context of the tenant page.

Times are the tenant's (its file's ``timezone``), status numbers are named, the Report marks a sale booked with a
rounding row, and every hint names the tenant file by its path.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi import HTTPException
from sqlalchemy import select

from prestashop_eboekhouden.config import TenantConfig, tenant_file
from prestashop_eboekhouden.schema import BOOKED, ERROR, OPEN, RESOLVED, orders
from prestashop_eboekhouden.store import StateStore, chunks
from prestashop_eboekhouden.ui.entries import TAB_STATES
from prestashop_eboekhouden.ui.queries import DashboardQueries
from prestashop_eboekhouden.ui.rows import order_row, payment_row, plain, refund_row, shown_time
from prestashop_eboekhouden.ui.run_view import run_listing, with_admin_links
from prestashop_eboekhouden.ui.vies import with_vies

PAGE = 50
TABS = {"booked": "Report", "error": "Errors", "open": "Open", "payments": "Payments", "config": "Configuration"}


def parse_date(value: str | None, name: str) -> dt.date | None:
    """A query's date (YYYY-MM-DD; empty: none), else 422 naming the field."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be a date YYYY-MM-DD, not {value[:40]!r}") from None


def check_state(state: str | None, allowed: tuple[str, ...] = TAB_STATES) -> str | None:
    if state is not None and state not in allowed:
        raise HTTPException(422, f"state must be {', '.join(allowed[:-1])} or {allowed[-1]}")
    return state


def file_of(config: TenantConfig) -> str | None:
    """The path of the tenant's file, as the hints name it."""
    path = tenant_file(config.tenant)
    return str(path) if path else None


def roundings(store: StateStore, tenant: str, rows: list[dict]) -> None:
    """Fill ``rounding`` of booked sales whose plan has a rounding row (one query for the page)."""
    ids = [r["order_id"] for r in rows if r.get("kind") == "order" and r.get("state") == BOOKED]
    found: dict[int, str] = {}
    with store.engine.connect() as conn:
        for chunk in chunks(ids):
            for order_id, plan in conn.execute(select(orders.c.order_id, orders.c.plan).where(orders.c.tenant == tenant, orders.c.order_id.in_(chunk))):
                row = next((r for r in (plan or {}).get("rows") or [] if r.get("kind") == "rounding"), None)
                if row is not None:
                    found[order_id] = f"{Decimal(row['amount_incl']):.2f}"
    for row in rows:
        if row.get("kind") == "order" and row["order_id"] in found:
            row["rounding"] = found[row["order_id"]]


def listing(store: StateStore, tenant: str, tz: str | None, kind: str, state: str | None, since: str | None, until: str | None,
            q: str | None, limit: int, offset: int, path: str | None = None, run_id: str | None = None,
            admin_url: str | None = None) -> dict:  # fmt: skip
    """One page of a tab as the JSON API answers it (and the page shows it): rows, total, counts, kinds. With ``run_id``
    the rows one run touched last (the "Bookkeeping: this run" link of its tasks; period and search do not apply)."""
    state = check_state(state) if kind == "orders" else check_state(state, (OPEN, BOOKED, ERROR, RESOLVED))
    if run_id:
        found = run_listing(store, kind, tenant, run_id, state, limit, offset)
        raw = found.pop("rows")
        totals = found.pop("totals", None)
        if kind == "orders":
            rows = [order_row(r, tz, store.status_names(tenant), path) for r in raw]
            roundings(store, tenant, rows)
            rows = with_admin_links(admin_url, with_vies(store, tenant, rows))
        else:
            rows = [payment_row(r, tz, path) for r in raw]
        if totals is not None and state == BOOKED:
            found["totals"] = {k: plain(v) for k, v in totals.items()}
        return {"tenant": tenant, "state": state, "limit": limit, "offset": offset, **found, "time_zone": tz, "rows": rows, "run_id": run_id}
    since_d, until_d = parse_date(since, "since"), parse_date(until, "until")
    queries = DashboardQueries(store)
    if kind == "orders":  # orders and credit slips together (and refused payments in Errors), each row with its kind
        rows, total, kinds = queries.list_entries_by_kind(tenant, state, since_d, until_d, q, limit, offset)
        statuses = store.status_names(tenant)
        shaped = [order_row(r, tz, statuses, path) for r in rows]
        roundings(store, tenant, shaped)
        return {
            "tenant": tenant, "state": state, "total": total, "limit": limit, "offset": offset,
            "counts": queries.entries_counts(tenant, since_d, until_d, q), "kinds": kinds, "time_zone": tz,
            "rows": with_admin_links(admin_url, with_vies(store, tenant, shaped)), "run_id": None,
        }
    rows, total = queries.payment_rows(tenant, state, since_d, until_d, q, limit, offset)
    counts = queries.payment_counts(tenant, since_d, until_d, q)
    return {"tenant": tenant, "state": state, "total": total, "limit": limit, "offset": offset, "counts": counts, "time_zone": tz,
            "rows": [payment_row(r, tz, path) for r in rows], "run_id": None}  # fmt: skip


def tenant_context(store: StateStore, config: TenantConfig, tab: str, since: str | None, until: str | None, q: str | None,
                   page: str, worked_off: bool, run_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything the tenant page shows for one tab (with ``run_id``: what that run touched last)."""
    if tab not in TABS:
        raise HTTPException(404, f"There is no tab {tab[:40]!r}: choose one of {', '.join(TABS.values())}")
    tenant, tz = config.tenant, config.timezone
    number = int(page) if page.strip().isdigit() and len(page.strip()) < 10 else 1
    since_d, until_d = parse_date(since, "From"), parse_date(until, "To")
    queries = DashboardQueries(store)
    path = file_of(config)
    context: dict[str, Any] = {
        "tenant": tenant, "tab": tab, "tabs": TABS, "since": since or "", "until": until or "", "q": q or "", "tz": tz,
        "order_counts": queries.entries_counts(tenant, since_d, until_d, q), "payment_counts": queries.payment_counts(tenant, since_d, until_d, q),
        "filtered": bool(since or until or (q or "").strip()), "payments_enabled": config.payments.enabled, "worked_off": worked_off,
        "tenant_file": path, "page": 1,
    }
    if run_id:  # one run's rows: its counts per tab, its DAG (from its report, else the tab's DAG)
        context["order_counts"] = run_listing(store, "orders", tenant, run_id, None, 1, 0)["counts"]
        context["payment_counts"] = run_listing(store, "payments", tenant, run_id, None, 1, 0)["counts"]
        fallback = f"{tenant}__payments_daily" if tab == "payments" else f"{tenant}__orders_hourly"
        context.update(run_id=run_id, run_dag=queries.run_dag_ids(tenant, [run_id]).get(run_id, fallback), filtered=True)
    if tab == "config":
        context["config"] = config.public_dict()
        context["runs"] = [{**run, "finished": shown_time(run["finished_at"], tz)} for run in queries.last_runs(tenant)]
        return context
    kind = "payments" if tab == "payments" else "orders"
    state = None if kind == "payments" else (RESOLVED if tab == "error" and worked_off else tab)
    admin_url = config.prestashop.admin_url
    found = listing(store, tenant, tz, kind, state, since, until, q, PAGE, (number - 1) * PAGE, path, run_id, admin_url)
    pages = max(1, -(-found["total"] // PAGE))
    if number > pages:  # past the last page: show the last
        number = pages
        found = listing(store, tenant, tz, kind, state, since, until, q, PAGE, (number - 1) * PAGE, path, run_id, admin_url)
    today = dt.date.today()
    for row in found["rows"]:
        row["age_days"] = (today - dt.date.fromisoformat(row["order_date"][:10])).days if row.get("order_date") else None
        for field in ("booked_at", "last_try", "resolved_at", "payment_date"):
            row[f"{field}_shown"] = shown_time(row.get(field), tz)
    if kind == "orders":
        dag_ids = queries.run_dag_ids(tenant, [r["run_id"] for r in found["rows"] if r.get("run_id")])
        for row in found["rows"]:
            default = f"{tenant}__payments_daily" if row.get("kind") == "payment" else f"{tenant}__orders_hourly"
            row["run_dag_id"] = dag_ids.get(row.get("run_id") or "", default)
    if tab == "booked":
        context["totals"] = found.get("totals") or {k: plain(v) for k, v in queries.entries_totals(tenant, since_d, until_d, q).items()}
    if tab == "payments":
        context["refunds"] = [refund_row(r) for r in queries.booked_credits(tenant, since_d, until_d, q)]
    context.update(listing=found, pages=pages, page=number)
    return context
