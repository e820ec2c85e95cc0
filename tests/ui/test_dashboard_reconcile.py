"""The Reconcile tab inside the real Airflow API server: a period's differences with their next step, the totals and the
VAT summary, CSV of both, Run now (triggers the reconciliation DAG and is followed), Process for orders no run saw, and
"book again" for a sale the bookkeeper confirms deleted — with Airflow's own access rules."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from prestashop_eboekhouden.domain.reconcile import Difference, Found
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.store_reconcile import ReconcileLedger

from .conftest import bearer

API = "/bookkeeping/api/tenants/demo/reconcile"
PAGE = "/bookkeeping/tenants/demo/reconcile"
DAY = dt.date(2026, 11, 20)
D = Decimal
TOTALS = [
    {"regime": "domestic", "country": "", "vat_code": "HOOG_VERK_21", "shop_docs": 3, "shop_incl": "72.60", "shop_excl": "60.00", "shop_vat": "12.60",
     "booked_docs": 3, "booked_incl": "72.60", "booked_excl": "60.00", "booked_vat": "12.60", "books_docs": 3, "books_incl": "63.60",
     "books_excl": "52.56", "books_vat": "11.04", "shop_minus_booked": "0.00", "booked_minus_books": "9.00"},
    {"regime": "total", "country": "", "vat_code": "", "shop_docs": 3, "shop_incl": "72.60", "shop_excl": None, "shop_vat": None, "booked_docs": 3,
     "booked_incl": "72.60", "booked_excl": None, "booked_vat": None, "books_docs": 3, "books_incl": "63.60", "books_excl": None, "books_vat": None,
     "shop_minus_booked": "0.00", "booked_minus_books": "9.00"},
]  # fmt: skip
VAT = {"return": [{"line": "1a", "description": "Supplies/services taxed at the standard rate (21%)", "vat_codes": ["HOOG_VERK_21"],
                   "booked_turnover": "60.00", "booked_vat": "12.60", "books_turnover": "52.56", "books_vat": "11.04"}],
       "oss": [{"country": "DE", "booked_turnover": "10.00", "booked_vat": "1.90", "books_turnover": "10.00", "books_vat": "1.90",
                "rates": [{"rate": "19", "booked_turnover": "10.00", "booked_vat": "1.90"}]}]}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of this module's own (the other UI modules count the demo tenant's rows): one reconciled day, four
    differences, a booked order whose sale is missing in e-Boekhouden."""
    url = f"sqlite:///{tmp_path_factory.mktemp('reconcile') / 'state.db'}"
    before = os.environ.get("PRESTA_EB_STATE_DB")
    os.environ["PRESTA_EB_STATE_DB"] = url
    store = StateStore(url)
    store.record_seen("demo", [{"order_id": 501, "reference": "MISSINGAA", "shop_status": 2, "date_upd": dt.datetime(2026, 11, 20, 10), "order_date": DAY}])
    store.save_plans("demo", [{"order_id": 501, "sales_number": "DEMO-MISSINGAA", "total_incl": "24.20", "total_excl": "20.00", "rows": []}])
    store.order_claims.claim("demo", 501, "seed")
    store.order_claims.booked("demo", 501, "seed", "seed", eb_kind="mutation", eb_id=77, eb_number="DEMO-MISSINGAA")
    ledger = ReconcileLedger(store)
    run = ledger.start("demo", DAY, DAY, "demo__reconcile_daily", "scheduled__2026-11-21T06:00:00+00:00")
    found = Found()
    for d in (
        Difference("not_seen", "order 502", DAY, 502, None, "UNSEENAAA", "", D("30.00"), None, None, "Shipped in the shop, never seen by a run", "Process it to book it now."),
        Difference("missing_in_books", "order 501", DAY, 501, None, "MISSINGAA", "DEMO-MISSINGAA", None, D("24.20"), None, "Booked by us", "Deleted in e-Boekhouden? Confirm it here; then Process books it again"),
        Difference("changed_in_books", "order 503", DAY, 503, None, "CHANGEDAA", "DEMO-CHANGEDAA", None, D("24.20"), D("15.20"), "total 15.20 instead of 24.20", "check it"),
        Difference("unknown_in_books", "number DEMO-QWERTYUIO", DAY, None, None, "", "DEMO-QWERTYUIO", None, None, D("15.00"), "never wrote it", "give each webshop its own prefix"),
    ):
        found.add(d)
        found.looked_at([d.kind], d.subject)
    summary = {"kinds": {}, "compared": {"bookings": 3, "now": 3, "before": 0, "not_yet": 0, "missing": 1}}
    ledger.finish(run, "demo", found, summary, TOTALS, VAT)
    yield store
    if before is None:
        os.environ.pop("PRESTA_EB_STATE_DB", None)
    else:
        os.environ["PRESTA_EB_STATE_DB"] = before


@pytest.fixture(scope="module")
def serialized_dags(airflow_db):
    """The DAGs in the metadata DB, parsed with this checkout's package (a shared virtualenv may install another's)."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo / "plugins"), str(repo), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True, env=env)


@pytest.fixture(scope="module")
def auth(tokens):
    return bearer(tokens["clerk"])


def test_the_period_differences_totals_and_vat_summary(client, auth, store):
    answer = client.get(API, params={"since": "2026-11-20", "until": "2026-11-20"}, headers=auth)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["counts"]["not_seen"] == 1 and data["total"] == 4
    assert [(r["kind"], r["order_id"]) for r in data["rows"]] == [("changed_in_books", 503), ("missing_in_books", 501), ("not_seen", 502), ("unknown_in_books", None)]
    changed = data["rows"][0]
    assert (changed["booked"], changed["books"], changed["label"]) == ("24.20", "15.20", "Changed in e-Boekhouden")
    assert data["totals"][-1]["booked_minus_books"] == "9.00" and data["vat_summary"]["oss"][0]["country"] == "DE"
    assert data["run"]["summary"]["compared"]["now"] == 3
    only = client.get(API, params={"since": "2026-11-20", "until": "2026-11-20", "kind": "not_seen"}, headers=auth).json()
    assert [r["order_id"] for r in only["rows"]] == [502]
    assert client.get(API, headers=auth).json()["since"] == "2026-11-20"  # no period: the latest reconciled one
    empty = client.get(API, params={"since": "2026-10-01", "until": "2026-10-31"}, headers=auth).json()
    assert (empty["total"], empty["run"], empty["totals"]) == (0, None, [])


def test_the_tab_shows_each_difference_with_its_next_step(client, auth, store):
    page = client.get(PAGE, params={"since": "2026-11-20", "until": "2026-11-20"}, headers=auth)
    assert page.status_code == 200
    text = page.text
    assert "Process it to book it now." in text and "Deleted in e-Boekhouden? Confirm it here" in text
    assert 'data-kind="missing_in_books"' in text and 'id="book-again"' in text and 'id="run-now"' in text
    assert 'data-regime="domestic"' in text and "HOOG_VERK_21" in text and 'data-line="1a"' in text and 'data-oss="DE"' in text
    assert 'class="active" data-tab="reconcile"' in text
    assert 'data-tab="reconcile"' in client.get("/bookkeeping/tenants/demo", headers=auth).text  # the tab from every other tab


def test_viewers_see_but_cannot_run_or_process(client, tokens, store):
    viewer = bearer(tokens["viewer"])
    page = client.get(PAGE, params={"since": "2026-11-20", "until": "2026-11-20"}, headers=viewer)
    assert page.status_code == 200 and 'id="run-now"' not in page.text and 'id="process"' not in page.text
    assert client.post(f"{API}/run", json={"since": "2026-11-20", "until": "2026-11-20"}, headers=viewer).status_code == 403
    assert client.post(f"{API}/process", json={"order_ids": [502]}, headers=viewer).status_code == 403
    assert client.get(API).status_code == 401


def test_csv_of_the_differences_and_the_totals(client, auth, store):
    rows = list(csv.DictReader(io.StringIO(client.get(f"{API}/export.csv", params={"since": "2026-11-20", "until": "2026-11-20"}, headers=auth).text)))
    assert [r["kind"] for r in rows] == ["changed_in_books", "missing_in_books", "not_seen", "unknown_in_books"]
    assert rows[0]["books"] == "15.20" and rows[2]["next_step"] == "Process it to book it now."
    totals = list(csv.DictReader(io.StringIO(client.get(f"{API}/export.csv", params={"since": "2026-11-20", "until": "2026-11-20", "what": "totals"}, headers=auth).text)))
    assert [(t["regime"], t["booked_incl"], t["books_incl"]) for t in totals] == [("domestic", "72.60", "63.60"), ("total", "72.60", "63.60")]


def test_bad_input_is_a_422(client, auth, store):
    assert client.get(API, params={"since": "yesterday"}, headers=auth).status_code == 422
    assert client.get(API, params={"since": "2026-11-20", "until": "2026-11-01"}, headers=auth).status_code == 422
    assert client.get(API, params={"since": "2026-11-20", "kind": "weird"}, headers=auth).status_code == 422
    assert client.get(PAGE, params={"since": "2020-01-01", "until": "2026-01-01"}, headers=auth).status_code == 422
    assert client.post(f"{API}/run", json={"since": "2026-11-20", "until": "2025-11-20"}, headers=auth).status_code == 422


def test_run_now_triggers_the_reconciliation_for_the_period_and_is_followed(client, tokens, auth, store, serialized_dags):
    answer = client.post(f"{API}/run", json={"since": "2026-10-01", "until": "2026-12-31"}, headers=auth)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["dag_id"] == "demo__reconcile_daily" and data["conf"] == {"since": "2026-10-01", "until": "2026-12-31"}
    run = client.get(f"/api/v2/dags/demo__reconcile_daily/dagRuns/{data['dag_run_id']}", headers=bearer(tokens["admin"])).json()
    assert run["conf"] == data["conf"] and run["run_type"] == "manual"
    followed = client.get(f"{API}/runs/{data['dag_run_id']}", headers=auth).json()
    assert followed["state"] == "queued" and followed["reconcile"] is None
    again = client.post(f"{API}/run", json={"since": "2026-10-01", "until": "2026-12-31"}, headers=auth)
    assert again.status_code == 409 and again.json()["detail"]["dag_run_id"] == data["dag_run_id"]


def test_the_reconcile_tasks_link_lands_on_the_period_of_its_run(client, auth, store, serialized_dags):
    """ "Bookkeeping: this run" on the reconcile task: the Reconcile tab on the period that run covers — as it recorded
    it, or, for a run that has not reconciled yet, as its params say."""
    from prestashop_eboekhouden.links import dashboard_run_path

    recorded = "scheduled__2026-11-21T06:00:00+00:00"
    link = dashboard_run_path("demo__reconcile_daily", recorded, root="")
    assert link == "/bookkeeping/tenants/demo/reconcile?run_id=scheduled__2026-11-21T06%3A00%3A00%2B00%3A00"
    page = client.get(link, headers=auth)
    assert page.status_code == 200, page.text
    assert 'value="2026-11-20"' in page.text and "MISSINGAA" in page.text
    queued = client.post(f"{API}/run", json={"since": "2026-09-01", "until": "2026-09-30"}, headers=auth)
    assert queued.status_code in (200, 409), queued.text  # 409: the earlier test's run is still queued
    run_id = queued.json()["dag_run_id"] if queued.status_code == 200 else queued.json()["detail"]["dag_run_id"]
    conf = client.get(API, params={"run_id": run_id}, headers=auth).json()
    expected = ("2026-09-01", "2026-09-30") if queued.status_code == 200 else ("2026-10-01", "2026-12-31")
    assert (conf["since"], conf["until"]) == expected  # not recorded yet: the run's params
    assert client.get(API, params={"run_id": "manual__nothing"}, headers=auth).status_code == 404
    assert client.get(API, params={"run_id": recorded, "since": "2026-10-01"}, headers=auth).json()["since"] == "2026-10-01"  # a period asked for wins


def test_book_again_a_sale_the_bookkeeper_confirms_deleted_and_process_waits_behind_it(client, tokens, auth, store, serialized_dags):
    assert client.post(f"{API}/book-again", json={"order_ids": [503]}, headers=auth).status_code == 409  # not missing
    again = client.post(f"{API}/book-again", json={"order_ids": [501]}, headers=auth)
    assert again.status_code == 200, again.text
    data = again.json()
    assert (data["dag_id"], data["conf"], data["booked_again"]) == ("demo__orders_hourly", {"order_ids": [501]}, {"orders": [501], "slips": []})
    row = store.get_orders("demo", [501])[501]
    assert (row["state"], row["eb_id"], row["sales_number"], row["plan"]["sales_number"]) == ("open", None, "DEMO-MISSINGAA", "DEMO-MISSINGAA")
    assert "Deleted in e-Boekhouden (confirmed by clerk" in row["reason"]

    # Process takes only orders no run has seen, and waits behind the run book-again queued (one test: xdist may
    # run the tests of this module in different workers, so the queued run is made here)
    assert client.post(f"{API}/process", json={"order_ids": [501, 503]}, headers=auth).status_code == 409  # not "never seen"
    queued = client.post(f"{API}/process", json={"order_ids": [502, 503]}, headers=auth)
    assert queued.status_code == 409 and "still waiting to start" in queued.json()["detail"]["message"]  # book again's run is queued
