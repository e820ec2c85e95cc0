"""The dashboard inside the real Airflow API server: login required, per-tenant access, JSON rows, Process."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from prestashop_eboekhouden.store import get_store

from .conftest import bearer

D = dt.date


@pytest.fixture(scope="module")
def filled_store():
    """Orders of the demo tenant in every state (written through the store's own API)."""
    store = get_store()
    tenant = "demo"
    seen = [
        {"order_id": i, "reference": f"REF{i:05d}", "shop_status": 2 if i % 3 else 10, "date_upd": dt.datetime(2026, 11, 1 + i % 20, 10), "order_date": D(2026, 11, 1 + i % 20)}
        for i in range(1, 121)
    ]
    store.record_seen(tenant, seen, "seed")
    ready = [i for i in range(1, 121) if i % 3]
    store.save_plans(tenant, [{"order_id": i, "sales_number": f"DEMO-REF{i:05d}", "total_incl": "121.00", "total_excl": "100.00", "rows": []} for i in ready], "seed")
    for i in ready[:60]:
        store.order_claims.claim(tenant, i, "seed")
        store.order_claims.booked(tenant, i, "seed", "seed", eb_kind="mutation", eb_id=1000 + i, eb_number=f"DEMO-REF{i:05d}", relation_code="JanJansen")
    store.set_errors(tenant, {i: ("MUT_109 Invalid VAT code", "MUT_109") for i in ready[60:70]}, "seed")
    store.set_open(tenant, [i for i in range(1, 121) if not i % 3], "Waiting for a status to book (now: Awaiting bank wire payment)", "seed")
    return store


def test_anonymous_requests_are_refused(client):
    assert client.get("/bookkeeping/api/tenants").status_code == 401
    assert client.get("/bookkeeping/api/tenants/demo/orders").status_code == 401
    assert client.post("/bookkeeping/api/tenants/demo/reprocess", json={"order_ids": [1]}).status_code == 401
    assert client.get("/bookkeeping/api/tenants/demo/orders", headers=bearer("not-a-jwt")).status_code in (401, 403)
    page = client.get("/bookkeeping/tenants/demo", follow_redirects=False)
    assert page.status_code == 303 and "login" in page.headers["location"]


def test_tenants_and_counts(client, tokens, filled_store):
    answer = client.get("/bookkeeping/api/tenants", headers=bearer(tokens["viewer"]))
    assert answer.status_code == 200
    demo = answer.json()["tenants"][0]
    assert demo["tenant"] == "demo" and demo["counts"] == {"open": 50, "booked": 60, "error": 10, "resolved": 0}


def test_orders_by_state_with_exact_amounts(client, tokens, filled_store):
    answer = client.get("/bookkeeping/api/tenants/demo/orders", params={"state": "booked", "limit": 5}, headers=bearer(tokens["viewer"]))
    data = answer.json()
    assert answer.status_code == 200 and data["total"] == 60 and len(data["rows"]) == 5
    row = data["rows"][0]
    assert row["state"] == "booked" and row["amount_incl"] == "121.00" and row["amount_excl"] == "100.00" and row["amount_vat"] == "21.00"
    assert row["eb_id"] == 1000 + row["order_id"] and row["sales_number"] == f"DEMO-REF{row['order_id']:05d}"
    assert "plan" not in row
    dates = [r["order_date"] for r in data["rows"]]
    assert dates == sorted(dates, reverse=True)
    errors = client.get("/bookkeeping/api/tenants/demo/orders", params={"state": "error"}, headers=bearer(tokens["viewer"])).json()
    assert errors["total"] == 10 and {r["reason"] for r in errors["rows"]} == {"MUT_109 Invalid VAT code"}


def test_search_period_and_paging(client, tokens, filled_store):
    auth = bearer(tokens["viewer"])
    by_ref = client.get("/bookkeeping/api/tenants/demo/orders", params={"q": "REF00007"}, headers=auth).json()
    assert [r["order_id"] for r in by_ref["rows"]] == [7]
    by_id = client.get("/bookkeeping/api/tenants/demo/orders", params={"q": "42"}, headers=auth).json()
    assert 42 in [r["order_id"] for r in by_id["rows"]]
    lower_case = client.get("/bookkeeping/api/tenants/demo/orders", params={"q": "demo-ref00008"}, headers=auth).json()
    assert [r["order_id"] for r in lower_case["rows"]] == [8]  # a sales number typed in small letters
    by_prefix = client.get("/bookkeeping/api/tenants/demo/orders", params={"q": "REF0001"}, headers=auth).json()
    assert sorted(r["order_id"] for r in by_prefix["rows"]) == list(range(10, 20))  # nothing exact: what starts with it
    period = client.get("/bookkeeping/api/tenants/demo/orders", params={"since": "2026-11-05", "until": "2026-11-05"}, headers=auth).json()
    assert period["total"] == 6 and {r["order_date"] for r in period["rows"]} == {"2026-11-05"}
    first = client.get("/bookkeeping/api/tenants/demo/orders", params={"limit": 50}, headers=auth).json()
    second = client.get("/bookkeeping/api/tenants/demo/orders", params={"limit": 50, "offset": 50}, headers=auth).json()
    assert first["total"] == 100 + 20 == second["total"]
    assert not {r["order_id"] for r in first["rows"]} & {r["order_id"] for r in second["rows"]}
    assert client.get("/bookkeeping/api/tenants/demo/orders", params={"state": "lost"}, headers=auth).status_code == 422
    assert client.get("/bookkeeping/api/tenants/demo/orders", params={"since": "yesterday"}, headers=auth).status_code == 422
    assert client.get("/bookkeeping/api/tenants/nope/orders", headers=auth).status_code == 404


def test_viewer_may_not_process(client, tokens, filled_store):
    answer = client.post("/bookkeeping/api/tenants/demo/reprocess", json={"order_ids": [61]}, headers=bearer(tokens["viewer"]))
    assert answer.status_code == 403


@pytest.fixture(scope="module")
def serialized_dags(airflow_db):
    subprocess.run([sys.executable, "-m", "airflow", "dags", "reserialize"], check=True, capture_output=True, env=os.environ.copy())


def test_process_triggers_the_hourly_dag_with_the_orders(client, tokens, filled_store, serialized_dags):
    errors = client.get("/bookkeeping/api/tenants/demo/orders", params={"state": "error"}, headers=bearer(tokens["clerk"])).json()["rows"]
    chosen = [errors[0]["order_id"], errors[1]["order_id"], 1]  # order 1 is booked: it is skipped
    booked_ids = {r["order_id"] for r in client.get("/bookkeeping/api/tenants/demo/orders", params={"state": "booked", "limit": 500}, headers=bearer(tokens["clerk"])).json()["rows"]}
    answer = client.post("/bookkeeping/api/tenants/demo/reprocess", json={"order_ids": chosen}, headers=bearer(tokens["clerk"]))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["order_ids"] == [oid for oid in chosen if oid not in booked_ids]
    assert data["url"] == f"/dags/demo__orders_hourly/runs/{data['dag_run_id']}"
    run = client.get(f"/api/v2/dags/demo__orders_hourly/dagRuns/{data['dag_run_id']}", headers=bearer(tokens["admin"])).json()
    assert run["conf"] == {"order_ids": data["order_ids"]}
    assert run["run_type"] == "manual"


def test_html_tabs(client, tokens, filled_store):
    auth = bearer(tokens["clerk"])
    report = client.get("/bookkeeping/tenants/demo", headers=auth)
    assert report.status_code == 200 and "DEMO-REF" in report.text and "121.00" in report.text
    errors = client.get("/bookkeeping/tenants/demo", params={"tab": "error"}, headers=auth)
    assert "MUT_109 Invalid VAT code" in errors.text and 'id="process"' in errors.text
    viewer_errors = client.get("/bookkeeping/tenants/demo", params={"tab": "error"}, headers=bearer(tokens["viewer"]))
    assert 'id="process"' not in viewer_errors.text
    config = client.get("/bookkeeping/tenants/demo", params={"tab": "config"}, headers=auth)
    assert "HOOG_VERK_21" in config.text and "password" not in config.text.lower()
