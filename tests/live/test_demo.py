"""The README's first command, scripts/demo.sh: it comes up, prints where to log in, books the seeded
orders into the e-Boekhouden emulator as successful runs of demo__orders_hourly, and Ctrl-C stops
every process it started. (The Ctrl-C test stops the shared stack: conftest runs it last.)
"""

from __future__ import annotations

import os
import time
from collections import Counter

import psutil
import pytest
import requests

from .conftest import STOP_TEST, DemoStack, wait_for

pytestmark = pytest.mark.live


@pytest.mark.timeout(300)
def test_banner_says_where_to_log_in(demo: DemoStack):
    out = demo.output
    assert f"Airflow UI     {demo.base_url}        login: admin / {demo.password}" in out
    assert f"Bookkeeping    {demo.base_url}/bookkeeping/" in out
    assert f"PrestaShop     {demo.prestashop_url}/api/" in out
    assert f"e-Boekhouden   {demo.eboekhouden_url}" in out and f"{demo.eboekhouden_url}/__sandbox__/mutations" in out
    assert "A run of demo__orders_hourly is booking the seeded orders now" in out
    assert "Press Ctrl-C to stop everything this script started." in out
    assert requests.get(f"{demo.base_url}/api/v2/version", timeout=10).status_code == 200
    # the dashboard plugin is registered one way (the package's entry point): Airflow finds it once
    assert "already registered" not in out + (demo.home / "standalone.log").read_text(errors="replace")
    plugins = demo.get("/api/v2/plugins")["plugins"]
    assert [p["name"] for p in plugins].count("prestashop_eboekhouden") == 1


@pytest.mark.timeout(300)
def test_demo_books_the_seeded_orders_as_successful_runs(demo: DemoStack):
    def history_run() -> dict | None:
        runs = demo.get("/api/v2/dags/demo__orders_hourly/dagRuns", run_type="manual")["dag_runs"]
        mine = [r for r in runs if not r["dag_run_id"].startswith("reprocess__")]  # the browser test's Process
        assert len(mine) == 1, mine  # demo.sh triggers the history once
        assert mine[0]["state"] != "failed", mine[0]
        return mine[0] if mine[0]["state"] == "success" else None

    run = wait_for("demo.sh's run of demo__orders_hourly", history_run, 180, interval=2)
    assert run["conf"]["since"]  # the whole seeded history, not just the last hour
    # demo.sh triggers only the tenants it is told to (DEMO_TRIGGER=demo)
    assert demo.get("/api/v2/dags/migrate__orders_hourly/dagRuns", run_type="manual")["total_entries"] == 0

    def books_agree() -> tuple | None:  # (live orders keep coming: compare a quiet moment)
        sales = [m for m in demo.mutations() if m["type"] == 2 and str(m["invoiceNumber"]).startswith("DEMO-")]
        booked = demo.get("/bookkeeping/api/tenants/demo/orders", state="booked", limit=500)["rows"]
        return (sales, booked) if {m["invoiceNumber"] for m in sales} == {r["sales_number"] for r in booked} else None

    sales, booked = wait_for("e-Boekhouden and the Report tab to agree", books_agree, 60, interval=2)
    per_number = Counter(m["invoiceNumber"] for m in sales)
    assert len(sales) > 50 and set(per_number.values()) == {1}  # each booked once
    amounts = {m["invoiceNumber"]: m["amount"] for m in sales}
    assert all(f"{amounts[r['sales_number']]:.2f}" == r["amount_incl"] for r in booked)


@pytest.mark.timeout(120)
def test_ctrl_c_stops_every_process(demo: DemoStack):
    assert STOP_TEST == "test_ctrl_c_stops_every_process"
    running = demo.processes()
    names = " ".join(" ".join(p.cmdline()) for p in running)
    for part in ("demo.sh", "-m sandbox", "airflow scheduler", "api_server", "airflow triggerer", "dag-processor"):
        assert part in names, f"{part!r} is not running: {names[:2000]}"
    before = {p.pid: p.create_time() for p in running}

    demo.interrupt()  # Ctrl-C in the terminal: SIGINT to demo.sh's process group
    began = time.monotonic()
    left = demo.stop(timeout=30)
    took = time.monotonic() - began
    assert not left, f"still running {took:.0f} s after Ctrl-C: {[(p.pid, ' '.join(p.cmdline())[:120]) for p in left]}"
    for pid, created in before.items():  # nothing that ran before is alive (a reused pid is another process)
        try:
            proc = psutil.Process(pid)
            assert proc.create_time() != created or proc.status() == psutil.STATUS_ZOMBIE, f"pid {pid} still alive: {proc.cmdline()}"
        except psutil.NoSuchProcess:
            pass
    with pytest.raises(ProcessLookupError):
        os.killpg(demo.process.pid, 0)  # demo.sh's process group is empty
    assert demo.process.poll() is not None
    assert "Stopping the demo ..." in demo.output and "Stopped. State is kept in" in demo.output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{demo.base_url}/api/v2/version", timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{demo.eboekhouden_url}/__sandbox__/health", timeout=5)
    print(f"Ctrl-C stopped {len(before)} processes in {took:.1f} s")
