"""Screenshots of issue 27 in the real Airflow UI (a one-worker stack of tests/stack, headless Chromium): a task's
"Bookkeeping: this run" extra link (Details tab), and the dashboard it opens, with the orders linked to the back office.

    .venv/bin/python scripts/screenshots_native.py     # → test-artifacts/browser-native/*.png (about 2 minutes)
"""

import datetime as dt
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO)]
os.environ["PRESTA_EB_STATE_AUTO_MIGRATE"] = "1"  # a throwaway state store
from sandbox import SandboxServers  # noqa: E402
from tests.stack.conftest import local, make_orders  # noqa: E402
from tests.stack.harness import ADMIN_PASSWORD, Stack, tenant_file  # noqa: E402

SHOTS = REPO / "test-artifacts" / "browser-native"
SHOTS.mkdir(parents=True, exist_ok=True)
base = Path(tempfile.mkdtemp(prefix="presta-eb-shots-"))
sandbox = SandboxServers(seed=42, orders=0, anchor=dt.datetime(2026, 11, 20, 12)).start()
tenant = tenant_file("shop", "SH-", prestashop={"admin_url": "https://shop.example/admin123ab"})
stack = Stack(base=base, tenants={"shop": tenant}, sandbox=sandbox, workers=1)
try:
    stack.start()
    ids = make_orders(stack, dt.datetime(2026, 11, 19, 9), 3, "shot")
    run_id = stack.trigger("shop__orders_hourly", hour_end=local(2026, 11, 19, 10))
    assert stack.wait_run("shop__orders_hourly", run_id) == "success"
    from playwright.sync_api import sync_playwright
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=flags)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(stack.url + "/")
        page.wait_for_url(re.compile(r".*/auth/login.*"))
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(stack.url + "/")
        page.goto(f"{stack.url}/dags/shop__orders_hourly/runs/{run_id}/tasks/report")
        time.sleep(6)
        for tab in ("Logs", "Details"):
            if "Bookkeeping: this run" not in page.content():
                page.get_by_role("tab", name=tab).or_(page.get_by_role("link", name=tab)).first.click()
                time.sleep(4)
        print("TEXT HAS LINK:", "Bookkeeping: this run" in page.content(), page.url)
        page.get_by_text("Bookkeeping: this run").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "01-task-extra-link.png"))
        page.goto(f"{stack.url}/dags/shop__orders_hourly/runs/{run_id}/tasks/book_orders/mapped/0/details")
        time.sleep(6)
        page.screenshot(path=str(SHOTS / "02-booking-batch-extra-link.png"))
        href = stack.api("GET", f"/api/v2/dags/shop__orders_hourly/dagRuns/{run_id}/taskInstances/report/links").json()["extra_links"]["Bookkeeping: this run"]
        page.goto(stack.url + href)
        page.wait_for_selector("#run-filter")
        page.screenshot(path=str(SHOTS / "03-dashboard-this-run.png"), full_page=True)
        browser.close()
    print("shots in", SHOTS)
finally:
    stack.stop()
    sandbox.stop()
