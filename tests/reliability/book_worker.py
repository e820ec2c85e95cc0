"""Tasks of the demo tenant run in a process of their own, as an Airflow worker runs them.

    python -m tests.reliability.book_worker book BATCHES_JSON RUN_ID   # the mapped book tasks of one run
    python -m tests.reliability.book_worker run RUN_ID [ORDER_ID ...]  # extract → validate → book: the hourly
                                                                       # window, or a reprocess of order ids
The crash test SIGKILLs the first mid-batch; the concurrency test starts two of the second at once.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

ANCHOR = dt.datetime(2026, 11, 20, 12, 0)  # the seeded shop's "now" (tests/e2e/conftest.py)
TASK_RETRIES = 3  # as the DAGs' default_args (dag_factory.py); the retry delay shortened from a minute
RETRY_DELAY_S = 2.0


def book(batches: list[list[int]], run_id: str) -> None:
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.store import get_store

    config, store = get_tenant("demo"), get_store()
    eb = bookkeeping_api(config.eboekhouden_conn_id, pool_size=config.eboekhouden.concurrency)
    try:
        for number, batch in enumerate(batches):
            for attempt in range(1 + TASK_RETRIES):  # an order left pending fails the task; Airflow retries it
                outcome = SaleBooker(config, eb, store, f"{run_id}/book/{number}", run_id).book(batch)
                print(f"{run_id} batch {number} try {attempt + 1}: {outcome}", flush=True)
                if not outcome.pending:
                    break
                time.sleep(RETRY_DELAY_S)
    finally:
        eb.close_session()


def run(run_id: str, order_ids: list[int]) -> None:
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.orders import extract_ids, extract_window, validate
    from prestashop_eboekhouden.store import get_store

    config, store = get_tenant("demo"), get_store()
    shop = PrestaShopHook(config.prestashop_conn_id)
    if order_ids:
        extracted = extract_ids(config, shop, store, order_ids, run_id)
    else:
        extracted = extract_window(config, shop, store, ANCHOR - dt.timedelta(days=10), ANCHOR + dt.timedelta(hours=1), run_id)
    book(validate(config, shop, store, extracted.to_process, run_id).batches, run_id)


if __name__ == "__main__":
    import os

    import prestashop_eboekhouden.pipeline.booking  # noqa: F401 - imports done before the common start

    if os.environ.get("WORKER_START_AT"):  # two workers start their work at the same moment
        time.sleep(max(0.0, float(os.environ["WORKER_START_AT"]) - time.time()))
    if sys.argv[1] == "book":
        book(json.loads(Path(sys.argv[2]).read_text()), sys.argv[3])
    else:
        run(sys.argv[2], [int(i) for i in sys.argv[3:]])
