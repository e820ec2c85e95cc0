"""A worker killed with SIGKILL in the middle of a batch, then the task's retry: every order booked exactly once.

The kill lands while e-Boekhouden has committed mutations whose answers the worker never received (the
emulator holds those answers back), so the store holds intents without outcomes: the case that would book
twice if the retry simply sent again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.e2e.conftest import ANCHOR, BACKENDS, REPO, eb_fault, sale_mutations

from .conftest import assert_exactly_once

pytestmark = pytest.mark.timeout(240)


def upstream(state_store, run_id: str) -> list[list[int]]:
    """extract and validate, as the tasks before book leave their batches in XCom."""
    import datetime as dt

    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.orders import extract_window, validate

    config, shop = get_tenant("demo"), PrestaShopHook(get_tenant("demo").prestashop_conn_id)
    extracted = extract_window(config, shop, state_store, ANCHOR - dt.timedelta(days=10), ANCHOR + dt.timedelta(hours=1), run_id)
    return validate(config, shop, state_store, extracted.to_process, run_id).batches


@pytest.mark.parametrize("eb_backend", BACKENDS, indirect=True)
def test_sigkill_mid_batch_then_retry_books_each_order_once(make_sandbox, state_store, tmp_path, eb_backend):
    sandbox = make_sandbox(orders=120, days_back=3)
    run_id = "manual__crash"
    batches = upstream(state_store, run_id)
    ready = sum(len(b) for b in batches)
    assert ready > 40
    (tmp_path / "batches.json").write_text(json.dumps(batches))
    # after 10 mutations, e-Boekhouden commits each new one but answers only after a minute
    eb_fault(sandbox, eb_backend, "create_mutation", action="stall_after_commit", seconds=60, after=10, times=None)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    worker = subprocess.Popen([sys.executable, "-m", "tests.reliability.book_worker", "book", str(tmp_path / "batches.json"), run_id], cwd=REPO, env=env)
    deadline = time.monotonic() + 90
    while len(sale_mutations(sandbox)) < 14 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.poll() is None, "the worker ended before the kill"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    time.sleep(0.5)  # a request already on the wire when the worker died is still committed by the emulator
    committed_numbers = {m["invoiceNumber"] for m in sale_mutations(sandbox)}
    committed = len(committed_numbers)
    assert committed >= 14

    rows = state_store.get_orders("demo", [oid for batch in batches for oid in batch])
    in_doubt = [oid for oid, row in rows.items() if row["state"] == "open" and row["intent_at"] is not None]
    # an intent recorded just before the kill may never have reached e-Boekhouden: that one must be sent, not adopted
    in_doubt_committed = [oid for oid in in_doubt if rows[oid]["sales_number"] in committed_numbers]
    assert len(in_doubt_committed) >= 4, "the kill left no committed-but-unrecorded bookings: the test proves nothing"
    assert sum(r["state"] == "booked" for r in rows.values()) < committed  # the store lags e-Boekhouden

    sandbox.clear_faults()  # the retry of the same task instances (same claim owners), after the kill
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.pipeline.booking import SaleBooker

    config, eb = get_tenant("demo"), bookkeeping_api(get_tenant("demo").eboekhouden_conn_id)
    adopted = 0
    for number, batch in enumerate(batches):
        adopted += SaleBooker(config, eb, state_store, f"{run_id}/book/{number}", run_id).book(batch).adopted
    eb.close_session()

    assert adopted == len(in_doubt_committed)  # each booking the killed worker never heard of is adopted, not sent again
    states = assert_exactly_once(sandbox, state_store)
    assert states["booked"] == ready
