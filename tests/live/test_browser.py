"""The dashboard as a bookkeeper uses it: headless Chromium (Playwright) against the running demo.

Log in through Airflow's own login form, open Bookkeeping, see the sandbox's orders in Report, Errors
and Open; fix the missing 9% VAT mapping in the tenant file, tick an order that failed on it, press
Process selected, and see the page follow the run: the row booked, another refused again; the Report
CSV against the JSON API totals; dark mode inside the Airflow frame; phone width. Screenshots go to
test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from .conftest import DEMO_TENANT, REPO, DemoStack, wait_for

pytestmark = [pytest.mark.live, pytest.mark.browser]

SHOTS = REPO / "test-artifacts" / "browser"
CHROMIUM_FLAGS = [  # what this machine's Chromium needs (no sandbox as root, no calls home on a closed network)
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ONLY_9_PERCENT = re.compile(r"No VAT mapping for 9% on line \d+ '")


def chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Debian's Chromium driven by Playwright (scripts/browser.sh installs it; tried here once more)."""
    if chromium() is None:
        subprocess.run(["bash", str(REPO / "scripts" / "browser.sh")], capture_output=True, timeout=600)
    executable = chromium()
    if executable is None:
        pytest.skip("Chromium is not installed and scripts/browser.sh could not install it (needs root and Debian's apt)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: scripts/venv.sh dev installs it from requirements-dev.txt")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def tab_count(page, tab: str) -> int:
    return int(page.locator(f"nav.tabs a[data-tab={tab}] .count").inner_text())


def history_booked(demo: DemoStack) -> bool:
    """demo.sh's run over the seeded history has finished."""
    runs = demo.get("/api/v2/dags/demo__orders_hourly/dagRuns", run_type="manual")["dag_runs"]
    history = [r for r in runs if r["dag_run_id"].startswith("manual__")]  # demo.sh's (not a Process, Run now or another test's)
    assert not [r for r in history if r["state"] == "failed"], history
    return bool(history) and all(r["state"] == "success" for r in history)


@pytest.mark.timeout(300)
def test_anonymous_browser_is_sent_to_the_login(demo: DemoStack, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        for path in ("/bookkeeping/", "/bookkeeping/tenants/demo?tab=error"):
            page.goto(demo.base_url + path)
            page.wait_for_url(re.compile(r".*/auth/login\?next=.*"))
            assert page.get_by_role("button", name="Sign in").is_visible()
            assert page.locator("nav.tabs").count() == 0
        shot(page, "00-login")
    finally:
        context.close()


def login(page, demo: DemoStack) -> None:
    """The real login form, reached through Airflow's redirect."""
    page.goto(demo.base_url + "/")
    page.wait_for_url(re.compile(r".*/auth/login.*"))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(demo.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo.base_url + "/")


@pytest.mark.timeout(420)
def test_fix_the_mapping_process_an_error_and_see_it_in_report(demo: DemoStack, browser):
    wait_for("demo.sh's run over the seeded orders", lambda: history_booked(demo), 180, interval=2)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    try:
        page = context.new_page()
        login(page, demo)

        page.goto(demo.base_url + "/bookkeeping")  # without the slash: redirected to the dashboard
        assert page.locator("main h2").inner_text() == "Webshops"
        page.get_by_role("link", name="demo", exact=True).click()
        page.wait_for_url(re.compile(r".*/bookkeeping/tenants/demo$"))

        for number, (tab, label) in enumerate((("booked", "Report"), ("error", "Errors"), ("open", "Open")), start=1):
            page.locator(f"nav.tabs a[data-tab={tab}]").click()
            page.wait_for_url(re.compile(rf".*tab={tab}$"))
            active = page.locator("nav.tabs a.active")
            assert active.get_attribute("data-tab") == tab and active.inner_text().startswith(label)
            count = tab_count(page, tab)
            assert count > 0, f"{label} shows no orders"
            assert page.locator("table#rows tr[data-order], table#rows tr[data-slip], table#rows tr[data-payment]").count() == min(50, count)
            assert f"{count} orders" in page.locator(".pager").inner_text()
            shot(page, f"0{number}-{label.lower()}")

        # CSV of the Report, parsed: its rows and totals are what the JSON API says
        page.locator("nav.tabs a[data-tab=booked]").click()
        page.wait_for_url(re.compile(r".*tab=booked$"))
        with page.expect_download() as download:
            page.locator("#csv").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
        api = demo.get("/bookkeeping/api/tenants/demo/orders", state="booked", limit=1)
        assert len(rows) == api["total"] == api["totals"]["count"] > 0
        assert f"{sum(Decimal(r['amount_incl']) for r in rows):.2f}" == api["totals"]["amount_incl"]
        assert f"{sum(Decimal(r['amount_excl']) for r in rows):.2f}" == api["totals"]["amount_excl"]
        assert page.locator("#totals [data-total=amount_incl]").inner_text() == api["totals"]["amount_incl"]

        # Errors holds the orders with 9% lines: this tenant file has no mapping for 9% yet
        page.locator("nav.tabs a[data-tab=error]").click()
        page.wait_for_url(re.compile(r".*tab=error$"))
        reasons = page.locator("table#rows tr[data-order] .reason").all_inner_texts()
        assert sum(1 for r in reasons if r.startswith("No VAT mapping for 9%")) > 10
        rows_shown = page.locator("table#rows tr[data-order]").all()
        fixable = next(r for r in rows_shown if all(ONLY_9_PERCENT.match(p) for p in r.locator(".reason").inner_text().split("; ")))
        order_id = int(fixable.get_attribute("data-order"))
        assert 'Add vat.rates."9"' in fixable.locator(".hint").inner_text()
        stays = next((r for r in rows_shown if not ONLY_9_PERCENT.match(r.locator(".reason").inner_text())), None)

        # the bookkeeper's fix: the 9% rate mapped in the tenant file (tasks read it at run time)
        tenant_file = demo.tenants_dir / "demo.yaml"
        fixed = yaml.safe_load(tenant_file.read_text())
        fixed["vat"]["rates"]["9"] = DEMO_TENANT["vat"]["rates"]["9"]
        tenant_file.write_text(yaml.safe_dump(fixed, sort_keys=False))

        process = page.locator("#process")
        assert process.is_disabled()
        fixable.locator("input.pick").check()
        if stays is not None:
            stays.locator("input.pick").check()
        assert process.is_enabled()
        process.click()
        link = page.locator("#run-link")
        page.locator("#result").wait_for(timeout=120_000)
        page.wait_for_function("() => document.querySelector('#result').textContent.trim() !== ''", timeout=120_000)
        assert link.count() == 1, f"Process answered without a run: {page.locator('#result').inner_text()}"
        assert link.get_attribute("href").startswith("/dags/demo__orders_hourly/runs/reprocess__")
        assert link.get_attribute("target") == "_top"
        assert f"Processing {1 if stays is None else 2} order(s)" in page.locator("#result").inner_text()
        shot(page, "04-processing")

        # the page follows the run and shows, row by row, what was booked and what was refused again
        outcome = page.locator("#process-outcome")
        outcome.wait_for(timeout=240_000)
        assert outcome.inner_text() == ("1 booked, 0 refused again" if stays is None else "1 booked, 1 refused again")
        assert page.locator(f"tr[data-order='{order_id}']").get_attribute("class") == "done-booked"
        assert page.locator(f"tr[data-order='{order_id}'] .state-cell").inner_text().startswith("Booked: DEMO-")
        if stays is not None:
            assert stays.get_attribute("class") == "done-error"
            assert stays.locator(".state-cell").inner_text().startswith("Refused again: ")
        shot(page, "05-processed-rows")

        booked_row = demo.get("/bookkeeping/api/tenants/demo/orders", state="booked", q=str(order_id))["rows"][0]
        (mutation,) = [m for m in demo.mutations() if m["invoiceNumber"] == booked_row["sales_number"]]
        assert booked_row["eb_id"] == mutation["id"] and booked_row["amount_incl"] == f"{mutation['amount']:.2f}"

        # Report, searched for the order as a bookkeeper would; its run link opens the run in the Airflow UI
        page.locator("nav.tabs a[data-tab=booked]").click()
        page.get_by_label("Order, credit slip, reference, customer or e-mail").fill(str(order_id))
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(rf".*q={order_id}.*"))
        shown = page.locator(f"table#rows tr[data-order='{order_id}']")
        assert shown.count() == 1
        text = shown.inner_text()
        assert f"mutation {mutation['id']}" in text and booked_row["sales_number"] in text and booked_row["amount_incl"] in text
        assert tab_count(page, "booked") == 1  # the counts follow the filter
        shot(page, "06-report-after-processing")
        run_link = shown.locator("a.run")
        assert run_link.get_attribute("target") == "_top"
        assert run_link.get_attribute("href").startswith("/dags/demo__orders_hourly/runs/reprocess__")
    finally:
        context.close()


@pytest.mark.timeout(300)
def test_inside_the_airflow_frame_dark_mode_and_links_to_the_top(demo: DemoStack, browser):
    """The dashboard as the Airflow UI frames it: it follows the UI's dark theme, and a run link replaces the
    whole Airflow page instead of opening a second Airflow inside the frame."""
    wait_for("demo.sh's run over the seeded orders", lambda: history_booked(demo), 180, interval=2)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        login(page, demo)
        page.evaluate("() => localStorage.setItem('theme', 'dark')")  # Airflow's own theme switch stores this
        page.goto(demo.base_url + "/plugin/bookkeeping")
        frame_element = page.wait_for_selector("iframe", timeout=60_000)
        frame = frame_element.content_frame()
        frame.wait_for_selector("main h2", timeout=60_000)  # the webshops (this demo has two)
        frame.get_by_role("link", name="demo", exact=True).click()
        frame.wait_for_selector("nav.tabs", timeout=60_000)
        assert frame.evaluate("() => document.documentElement.dataset.theme") == "dark"
        background = frame.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(17, 24, 39)", background
        shot(page, "07-dark-mode-in-airflow")

        frame.locator("nav.tabs a[data-tab=booked]").click()
        frame.wait_for_selector("table#rows a.run")
        href = frame.locator("table#rows a.run").first.get_attribute("href")
        frame.locator("table#rows a.run").first.click()
        page.wait_for_url(re.compile(rf".*{re.escape(href.split('/runs/')[0])}/runs/.*"), timeout=60_000, wait_until="commit")
        assert page.url.startswith(demo.base_url + "/dags/demo__orders_hourly/runs/")  # the top page moved: one Airflow
        assert len([f for f in page.frames if "/bookkeeping/" in f.url]) == 0
    finally:
        context.close()


@pytest.mark.timeout(300)
def test_phone_width_every_row_is_a_card(demo: DemoStack, browser):
    """At phone width a row is a card of labelled values (no table to scroll sideways, no tall empty rows)."""
    wait_for("demo.sh's run over the seeded orders", lambda: history_booked(demo), 180, interval=2)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        login(page, demo)
        for number, tab in (("08", "booked"), ("09", "error")):
            page.goto(demo.base_url + f"/bookkeeping/tenants/demo?tab={tab}")
            page.wait_for_selector("table#rows tr[data-kind]")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # the page does not scroll sideways
            card = page.evaluate(
                "() => { const r = document.querySelector('table#rows tr[data-kind]'); const c = r.querySelector('td[data-label=Reference]');"
                " return [getComputedStyle(r).display, getComputedStyle(c, '::before').content, r.getBoundingClientRect().width,"
                " document.querySelector('table#rows tr.head') ? getComputedStyle(document.querySelector('table#rows tr.head')).display : 'none']; }"
            )
            assert card[0] == "block" and card[1] == '"Reference"' and card[2] <= 390 and card[3] == "none", card
            shot(page, f"{number}-phone-width-{tab}")
    finally:
        context.close()
