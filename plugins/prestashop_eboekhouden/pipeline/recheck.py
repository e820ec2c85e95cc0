"""The nightly recheck: which open orders to read again, and which are too old to wait for."""

from __future__ import annotations

import datetime as dt

import pendulum

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.store import StateStore


def cutoff_date(today: dt.date, months_back: int) -> dt.date:
    """The oldest order date still rechecked: today minus N calendar months."""
    return pendulum.date(today.year, today.month, today.day).subtract(months=months_back)


def recheck_candidates(config: TenantConfig, store: StateStore, today: dt.date, run_id: str | None) -> tuple[list[int], int]:
    """Open orders from the last N months (capped by max_orders if set); older open orders go to Errors."""
    cutoff = cutoff_date(today, config.recheck.months_back)
    too_old = store.open_orders(config.tenant, before=cutoff)
    if too_old:
        reason = f"older than {config.recheck.months_back} months: book by hand or migrate"
        store.set_errors(config.tenant, {row["order_id"]: (reason, "TOO_OLD") for row in too_old}, run_id)
    recent = store.open_orders(config.tenant, since=cutoff, limit=config.recheck.max_orders)
    return [row["order_id"] for row in recent], len(too_old)
