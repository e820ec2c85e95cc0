"""Each emulator fault, injected at random into a whole run: every processable order ends booked exactly once."""

from __future__ import annotations

import pytest

from sandbox import FaultConfig

from .conftest import BACKENDS, assert_exactly_once, connect, run_pipeline

pytestmark = pytest.mark.timeout(240)

FAULTS = {
    "429 with Retry-After": dict(rate_429=0.25, retry_after=0),
    "500 answers": dict(rate_500=0.2),
    "timeouts": dict(rate_timeout=0.1, timeout_seconds=2.0),
    "truncated answers": dict(rate_truncate=0.15),
    "HTML error pages (502/503)": dict(rate_502=0.1, rate_503=0.1),
    "HTML where JSON or XML is expected (200)": dict(rate_garbage=0.1),
    "connection reset before processing": dict(rate_reset=0.1),
    "connection dropped after commit": dict(rate_drop=0.3),
}


@pytest.mark.parametrize("eb_backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_random_faults_on_both_apis(fault, make_sandbox, state_store, monkeypatch, eb_backend):
    sandbox = make_sandbox(orders=60, days_back=2)
    connect(sandbox, monkeypatch, timeout=0.7, backend=eb_backend)  # a timeout fault waits 2 s: the hook gives up at 0.7 s
    targets = ("prestashop", "eboekhouden_soap" if eb_backend == "soap" else "eboekhouden")
    for target in targets:
        sandbox.set_faults(target, FaultConfig(seed=7, **FAULTS[fault]))
    run_pipeline(passes=12)
    injected = sum(sum(sandbox.faults(t).injected.values()) for t in targets)
    assert injected >= 3  # the faults really happened (a few dozen requests in all: some hit whatever the thread timing)
    assert assert_exactly_once(sandbox, state_store)["booked"] > 25


def test_a_prestashop_page_failing_mid_pagination(make_sandbox, state_store):
    sandbox = make_sandbox(orders=60, days_back=2)
    # the second page of every orders list fails hard for a while: the run fails, the retry reads all pages
    sandbox.add_fault_rule("prestashop", method="GET", path="/api/orders", action="status", status=500, after=1, times=6)
    from prestashop_eboekhouden.hooks import prestashop

    prestashop.ROWS_PER_PAGE, saved = 20, prestashop.ROWS_PER_PAGE
    try:
        passes = run_pipeline()
    finally:
        prestashop.ROWS_PER_PAGE = saved
    assert passes >= 2
    assert assert_exactly_once(sandbox, state_store)["booked"] > 25
