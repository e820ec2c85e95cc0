"""The dashboard filtered on one run (where a task's "Bookkeeping: this run" link lands) and its links to the shop's
back office, inside the real Airflow API server. Rows are put in place through the store's own API and removed
afterwards; they are in a period (March 2025) and runs of their own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import yaml
from sqlalchemy import delete

from prestashop_eboekhouden.store import credits, get_store, orders
from prestashop_eboekhouden.ui.rows import ORDER_FIELDS

from .conftest import bearer

REPO_TENANTS = __import__("pathlib").Path(__file__).resolve().parents[2] / "include/tenants"
TENANT = "demo"
API = f"/bookkeeping/api/tenants/{TENANT}"
PAGE = f"/bookkeeping/tenants/{TENANT}"
RUN_A, RUN_B = "scheduled__2025-03-04T10:00:00+00:00", "manual__2025-03-05T09:00:00+00:00"
D = dt.date


@pytest.fixture(scope="module")
def seeded():
    """Run A booked 9101 and 9102 and a credit slip 601 of 9101 (the same day: listed after them), and refused 9103;
    run B booked 9104."""
    store = get_store()
    seen = [
        {"order_id": i, "reference": f"RUNV{i}", "shop_status": 2, "date_upd": dt.datetime(2025, 3, 4, 9), "order_date": D(2025, 3, 4)}
        for i in (9101, 9102, 9103, 9104)
    ]
    store.record_seen(TENANT, seen, RUN_A)
    store.save_plans(TENANT, [{"order_id": i, "sales_number": f"DEMO-RUNV{i}", "total_incl": "121.00", "total_excl": "100.00", "rows": []} for i in (9101, 9102, 9104)], RUN_A)
    for i, run in ((9101, RUN_A), (9102, RUN_A), (9104, RUN_B)):
        store.order_claims.claim(TENANT, i, "test")
        store.order_claims.booked(TENANT, i, "test", run, eb_kind="mutation", eb_id=71000 + i, eb_number=f"DEMO-RUNV{i}", relation_code="Jansen")
    store.set_errors(TENANT, {9103: ("MUT_109 Invalid VAT code", "MUT_109")}, RUN_A)
    store.record_slips(TENANT, [{"slip_id": 601, "order_id": 9101, "reference": "", "slip_date": D(2025, 3, 4), "date_upd": dt.datetime(2025, 3, 4, 9, 50)}], RUN_A)
    store.save_credit_plans(TENANT, [{"slip_id": 601, "sales_number": "DEMO-RUNV9101-C601", "total_incl": "-12.10", "total_excl": "-10.00", "relation_code": "Jansen"}], RUN_A)
    store.credit_claims.claim(TENANT, 601, "test")
    store.credit_claims.booked(TENANT, 601, "test", RUN_A, eb_kind="mutation", eb_id=81601, eb_number="DEMO-RUNV9101-C601")
    yield store
    with store.begin() as conn:
        conn.execute(delete(credits).where(credits.c.tenant == TENANT, credits.c.slip_id == 601))
        conn.execute(delete(orders).where(orders.c.tenant == TENANT, orders.c.order_id.in_([9101, 9102, 9103, 9104])))


@pytest.fixture(scope="module")
def auth(tokens):
    return bearer(tokens["clerk"])


def test_the_orders_of_one_run_with_its_counts_and_totals(client, auth, seeded):
    answer = client.get(f"{API}/orders", params={"state": "booked", "run_id": RUN_A}, headers=auth)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["run_id"] == RUN_A
    assert [(r["kind"], r.get("slip_id") or r["order_id"]) for r in data["rows"]] == [("order", 9102), ("order", 9101), ("credit", 601)]
    assert set(ORDER_FIELDS) | {"shop_admin_url"} <= set(data["rows"][0])
    assert (data["total"], data["counts"], data["kinds"]) == (3, {"open": 0, "booked": 3, "error": 1}, {"order": 2, "credit": 1})
    # two orders of 121.00 and a refund of 12.10
    assert data["totals"] == {"count": 3, "amount_incl": "229.90", "amount_excl": "190.00", "amount_vat": "39.90"}
    errors = client.get(f"{API}/orders", params={"state": "error", "run_id": RUN_A}, headers=auth).json()
    assert [r["order_id"] for r in errors["rows"]] == [9103] and "totals" not in errors
    other = client.get(f"{API}/orders", params={"run_id": RUN_B}, headers=auth).json()
    assert [r["order_id"] for r in other["rows"]] == [9104] and other["counts"]["booked"] == 1
    # without a run: the listing as before, with "run_id": null beside its usual keys
    everything = client.get(f"{API}/orders", params={"since": "2025-03-01", "until": "2025-03-31", "state": "booked"}, headers=auth).json()
    assert everything["run_id"] is None and {"tenant", "state", "total", "limit", "offset", "counts", "kinds", "rows", "totals"} <= set(everything)
    assert everything["total"] == 4
    assert client.get(f"{API}/orders", params={"run_id": "x" * 251}, headers=auth).status_code == 422
    payments = client.get(f"{API}/payments", params={"run_id": RUN_A}, headers=auth).json()
    assert (payments["run_id"], payments["total"], payments["rows"]) == (RUN_A, 0, [])


def test_the_run_page_and_the_back_office_links(client, auth, seeded, tmp_path, monkeypatch):
    page = client.get(PAGE, params={"tab": "booked", "run_id": RUN_A}, headers=auth)
    assert page.status_code == 200
    assert 'id="run-filter"' in page.text and f"/dags/{TENANT}__orders_hourly/runs/{RUN_A}" in page.text
    assert 'data-order="9101"' in page.text and 'data-order="9104"' not in page.text
    assert 'id="csv"' not in page.text and "shop-admin" not in page.text  # no admin_url: no back-office link

    demo = yaml.safe_load((REPO_TENANTS / "demo.yaml").read_text())
    demo["prestashop"]["admin_url"] = "https://shop.example/admin123ab"
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump(demo))
    monkeypatch.setenv("PRESTA_EB_TENANTS_DIR", str(tmp_path))
    rows = client.get(f"{API}/orders", params={"state": "booked", "run_id": RUN_A}, headers=auth).json()["rows"]
    assert [r["shop_admin_url"] for r in rows] == [f"https://shop.example/admin123ab/index.php?controller=AdminOrders&id_order={i}&vieworder" for i in (9102, 9101, 9101)]
    page = client.get(PAGE, params={"tab": "booked", "run_id": RUN_A}, headers=auth)
    assert 'href="https://shop.example/admin123ab/index.php?controller=AdminOrders&amp;id_order=9102&amp;vieworder"' in page.text
    assert Decimal(rows[2]["amount_incl"]) == Decimal("-12.10")
