"""Reliability harness: the booking pipeline run the way Airflow runs it (tasks retried until done),
in-process against the sandbox, and the invariants every fault must leave intact."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from tests.e2e.conftest import (  # noqa: F401
    ANCHOR,
    BACKENDS,
    DEMO,
    EB_CALLS,
    all_history,
    connect,
    eb_fault,
    fast,
    make_sandbox,
    sale_mutations,
    state_store,
    tenants_dir,
    write_tenant,
)

PROCESS = {2, 3, 4, 5, 11, 12}


def run_pipeline(run_id: str = "run", passes: int = 10, since: dt.datetime | None = None, until: dt.datetime | None = None) -> int:
    """extract → validate → book over a window, repeated like task retries until nothing is pending; returns passes used."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.base import ApiError, TransientError
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.pipeline.orders import extract_window, validate
    from prestashop_eboekhouden.store import get_store

    since = since or ANCHOR - dt.timedelta(days=10)
    until = until or ANCHOR + dt.timedelta(hours=1)
    for attempt in range(1, passes + 1):
        config, store = get_tenant("demo"), get_store()
        shop, eb = PrestaShopHook(config.prestashop_conn_id, max_attempts=4), bookkeeping_api(config.eboekhouden_conn_id, max_attempts=4)
        try:
            extracted = extract_window(config, shop, store, since, until, run_id)
            validated = validate(config, shop, store, extracted.to_process, run_id)
            pending = 0
            for number, batch in enumerate(validated.batches):
                pending += len(SaleBooker(config, eb, store, f"{run_id}/book/{number}", run_id).book(batch).pending)
            if pending == 0:
                return attempt
        except (TransientError, ApiError):
            continue  # the task failed; Airflow retries it
        finally:
            try:
                eb.close_session()
            except Exception:  # noqa: BLE001 - a failing revoke does not decide the test
                pass
    raise AssertionError(f"still not done after {passes} passes")


def assert_exactly_once(sandbox, store) -> Counter:
    """Nothing lost, nothing booked twice, every booked sale's total as the shop's; returns states."""
    shop_orders = {int(o["id"]): o for o in sandbox.shop.items("orders")}
    stored = store.get_orders("demo", shop_orders)
    assert set(stored) == set(shop_orders), "orders lost"
    mutations = sale_mutations(sandbox)
    assert sandbox.books.overwrites == [], "a booking overwrote another (the legacy SOAP hazard)"
    per_number = Counter(m["invoiceNumber"] for m in mutations)
    assert set(per_number.values()) <= {1}, f"booked twice: {[n for n, c in per_number.items() if c > 1]}"
    booked = {r["sales_number"]: r for r in stored.values() if r["state"] == "booked"}
    assert set(booked) == set(per_number), "store and e-Boekhouden disagree"
    amounts = {m["invoiceNumber"]: m["amount"] for m in mutations}
    assert all(amounts[n] == r["amount_incl"] for n, r in booked.items())
    for oid, row in stored.items():
        if int(shop_orders[oid]["current_state"]) in PROCESS:
            assert row["state"] == "booked" or (row["state"] == "error" and row["error_code"] in ("PRECHECK", "CONFIG")), row
        else:
            assert row["state"] == "open", row
    return Counter(r["state"] for r in stored.values())


@pytest.fixture
def invariant():
    return assert_exactly_once
