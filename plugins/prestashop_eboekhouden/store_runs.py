"""What the runs did, kept per run: the report task writes a summary; the report, the run notes and the notifier read
which orders a run touched and which went to Errors."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from prestashop_eboekhouden.schema import ERROR, orders, payments, runs, utcnow
from prestashop_eboekhouden.store_base import StoreBase


class RunLog(StoreBase):
    """Run summaries and the rows each run touched."""

    def record_run(self, tenant: str, dag_id: str, run_id: str, summary: dict) -> None:
        """Keep a run's summary (counts and amounts)."""
        with self.begin() as conn:
            conn.execute(runs.insert().values(tenant=tenant, dag_id=dag_id, run_id=run_id, finished_at=utcnow(), summary=summary))

    def run_orders(self, tenant: str, run_id: str) -> list[dict]:
        """State and amounts of the orders a run touched last."""
        stmt = select(orders.c.order_id, orders.c.state, orders.c.amount_incl, orders.c.amount_excl).where(
            orders.c.tenant == tenant, orders.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_payments(self, tenant: str, run_id: str) -> list[dict]:
        """State and amounts of the payments a run touched last."""
        stmt = select(payments.c.payment_id, payments.c.state, payments.c.amount.label("amount_incl")).where(
            payments.c.tenant == tenant, payments.c.run_id == run_id
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_errors(self, tenant: str, run_id: str, kind: str = "orders") -> list[dict]:
        """Orders (or payments) a run left in Errors, by id: what its note and notification name."""
        table = orders if kind == "orders" else payments
        key = table.c.order_id if table is orders else table.c.payment_id
        cols = [key, table.c.order_id, table.c.reference, table.c.error_code, table.c.reason, table.c.attempts]
        cols.append(table.c.amount_incl if table is orders else table.c.amount)
        stmt = select(*dict.fromkeys(cols)).where(table.c.tenant == tenant, table.c.run_id == run_id, table.c.state == ERROR).order_by(key)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def errors_since(self, tenant: str, since: dt.datetime) -> list[dict]:
        """Orders that went to Errors (or were refused again) since a moment (naive UTC): the daily digest."""
        stmt = (
            select(orders.c.order_id, orders.c.reference, orders.c.error_code, orders.c.reason, orders.c.attempts, orders.c.amount_incl, orders.c.last_try)
            .where(orders.c.tenant == tenant, orders.c.state == ERROR, orders.c.last_try >= since)
            .order_by(orders.c.order_id)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def run_failure(self, tenant: str, dag_id: str, run_id: str) -> dict | None:
        """Why a run could not do its work, as its failing task wrote it down ({"task", "failed", "note"}); None if none did."""
        stmt = select(runs.c.summary).where(runs.c.tenant == tenant, runs.c.dag_id == dag_id, runs.c.run_id == run_id).order_by(runs.c.id.desc())
        with self.engine.connect() as conn:
            for summary in conn.execute(stmt).scalars():
                if isinstance(summary, dict) and summary.get("kind") == "failure":
                    return summary
        return None

    def run_summary(self, tenant: str, dag_id: str, run_id: str) -> dict | None:
        """The latest summary a run's report recorded."""
        stmt = select(runs.c.summary).where(runs.c.tenant == tenant, runs.c.dag_id == dag_id, runs.c.run_id == run_id).order_by(runs.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none()
