"""Requests of the credit-slip step over a seeded shop: what book_credits costs on top of the orders.

The sandbox seeds N orders (with their credit slips); the orders of the whole period are booked first, then the
credit step runs once over the same window, as the hourly DAG's book_credits does. Prints the PrestaShop requests
per resource and the e-Boekhouden requests of that step, and how the slips ended.

    .venv/bin/python bench/credits.py [--orders 300 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "plugins")]
ANCHOR = dt.datetime(2026, 11, 20, 12, 0)


def measure(orders: int) -> dict:
    import yaml

    from prestashop_eboekhouden import store as store_module
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.pipeline.credits import CreditBooker, check_slips, window_slips
    from prestashop_eboekhouden.pipeline.orders import extract_window, validate
    from sandbox import SandboxServers

    with tempfile.TemporaryDirectory() as tmp, SandboxServers(seed=42, orders=orders, days_back=3, anchor=ANCHOR) as sandbox:
        folder = Path(tmp) / "tenants"
        folder.mkdir()
        demo = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
        (folder / "demo.yaml").write_text(yaml.safe_dump(demo))
        os.environ.update(
            PRESTA_EB_TENANTS_DIR=str(folder), PRESTA_EB_STATE_DB=f"sqlite:///{tmp}/state.db",
            AIRFLOW_CONN_PRESTASHOP_DEMO=json.dumps({"conn_type": "http", "host": sandbox.prestashop_url, "password": "SANDBOXPRESTASHOPKEY000000000000"}),
            AIRFLOW_CONN_EBOEKHOUDEN_DEMO=json.dumps({"conn_type": "http", "host": sandbox.eboekhouden_url, "password": "sandbox-eboekhouden-token", "extra": {"source": "BENCH"}}),
            AIRFLOW_CONN_VIES_DEFAULT=json.dumps({"conn_type": "vies", "host": sandbox.vies_url}),
        )  # fmt: skip
        store_module._STORES.clear()
        config, store = get_tenant("demo"), store_module.get_store()
        since, until = ANCHOR - dt.timedelta(days=10), ANCHOR + dt.timedelta(hours=1)
        shop, eb = PrestaShopHook(config.prestashop_conn_id), bookkeeping_api(config.eboekhouden_conn_id)
        extracted = extract_window(config, shop, store, since, until, "orders")
        for number, batch in enumerate(validate(config, shop, store, extracted.to_process, "orders").batches):
            SaleBooker(config, eb, store, f"orders/{number}", "orders").book(batch)
        eb.close_session()
        shop, eb = PrestaShopHook(config.prestashop_conn_id), bookkeeping_api(config.eboekhouden_conn_id)
        ids, raws = window_slips(config, shop, store, since, until, "credits")
        checked = check_slips(config, shop, store, ids, "credits", raws)
        outcome = CreditBooker(config, eb, store, "credits/0", "credits").book(checked.ready)
        eb.close_session()
        states = Counter(row["state"] for row in store.get_credits("demo", ids).values())
        return {
            "orders": orders, "slips": len(ids), "booked": outcome.booked, "states": dict(states),
            "prestashop_requests": {str(k): v for k, v in dict(shop.requests_made).items()}, "eboekhouden_requests": {str(k): v for k, v in dict(eb.requests_made).items()},
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, nargs="+", default=[300, 1000])
    for orders in parser.parse_args().orders:
        print(json.dumps(measure(orders)))


if __name__ == "__main__":
    main()
