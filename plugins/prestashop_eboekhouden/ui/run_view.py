"""The dashboard filtered on one run (where the "Bookkeeping: this run" link of a task lands), and back-office links.

A run filter shows the orders and credit slips (or payments) that the run touched last, in the tab's state, with
the listing's usual keys plus ``run_id``. Rows are found by the store's ``run_id`` column (a scan of the tenant's
rows: a run's view is opened by a click, not on every page).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, union_all

from prestashop_eboekhouden.links import admin_order_url
from prestashop_eboekhouden.schema import BOOKED, STATES, credits, orders, payments
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.ui.queries import DashboardQueries

MAX_RUN_ID = 250  # the store's run_id column


def run_listing(store: StateStore, kind: str, tenant: str, run_id: str, state: str | None, limit: int, offset: int) -> dict:
    """The rows one run touched last, newest first, as the listing answers them (without shaping), with counts per state."""
    if kind == "payments":
        where = [payments.c.tenant == tenant, payments.c.run_id == run_id]
        with store.engine.connect() as conn:
            found: dict[str, int] = {str(s): int(n) for s, n in conn.execute(select(payments.c.state, func.count()).where(*where).group_by(payments.c.state)).all()}
            rows_where = [*where, payments.c.state == state] if state else where
            total = int(conn.execute(select(func.count()).select_from(payments).where(*rows_where)).scalar_one())
            stmt = select(payments).where(*rows_where).order_by(payments.c.payment_date.desc(), payments.c.payment_id.desc()).limit(limit).offset(offset)
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        return {"rows": rows, "total": total, "counts": {s: found.get(s, 0) for s in STATES}}
    order_side, _, credit_side, _ = DashboardQueries(store).entry_sides(tenant, state, None, None, None, prefix=True)
    order_side, credit_side = order_side.where(orders.c.run_id == run_id), credit_side.where(credits.c.run_id == run_id)
    both = union_all(order_side, credit_side).subquery("entries")
    with store.engine.connect() as conn:
        kinds: dict[str, int] = {str(k): int(n) for k, n in conn.execute(select(both.c.kind, func.count()).group_by(both.c.kind)).all()}
        stmt = select(both).order_by(both.c.order_date.desc(), both.c.sort_id.desc(), both.c.kind).limit(limit).offset(offset)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        counts = {s: 0 for s in STATES}
        incl = excl = Decimal(0)
        booked = 0
        for table in (orders, credits):
            mine = (table.c.tenant == tenant, table.c.run_id == run_id)
            for found_state, count in conn.execute(select(table.c.state, func.count()).where(*mine).group_by(table.c.state)):
                counts[found_state] = counts.get(found_state, 0) + int(count)
            n, side_incl, side_excl = conn.execute(select(func.count(), func.sum(table.c.amount_incl), func.sum(table.c.amount_excl)).where(*mine, table.c.state == BOOKED)).one()
            booked, incl, excl = booked + int(n), incl + Decimal(side_incl or 0), excl + Decimal(side_excl or 0)
    cents = Decimal("0.01")
    totals = {"count": booked, "amount_incl": incl.quantize(cents), "amount_excl": excl.quantize(cents), "amount_vat": (incl - excl).quantize(cents)}
    return {
        "rows": rows, "total": sum(kinds.values()), "counts": counts, "kinds": {"order": kinds.get("order", 0), "credit": kinds.get("credit", 0)}, "totals": totals,
    }


def with_admin_links(admin_url: str | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row's ``shop_admin_url``: its order in the back office (a credit slip's: the order it refunds); None when
    the tenant has no ``prestashop.admin_url``."""
    for row in rows:
        row["shop_admin_url"] = admin_order_url(admin_url, row.get("order_id"))
    return rows
