"""VIES beside the order in the dashboard (issue 24), inside the real Airflow API server: Report, Errors and Open rows of
ICP orders carry the VAT number VIES was asked about and its verdict (JSON keys vat_number and vies, added beside
every existing key; None for other orders), the page shows it beside the reference, and Errors explain what to do.
The rows are put in place through the store's own API and removed afterwards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete

from prestashop_eboekhouden.schema import orders
from prestashop_eboekhouden.store import get_store
from prestashop_eboekhouden.store_vies import ViesStore, vies_numbers, vies_orders
from prestashop_eboekhouden.ui.rows import ORDER_FIELDS

from .conftest import bearer

TENANT = "demo_legacy"
API = f"/bookkeeping/api/tenants/{TENANT}"
PAGE = f"/bookkeeping/tenants/{TENANT}"
PERIOD = {"since": "2025-03-01", "until": "2025-03-31"}  # a period of its own
IDS = (9101, 9102, 9103, 9104)
NUMBERS = ("BE0428759497", "BE0999999724", "FR40303265045")


@pytest.fixture(scope="module")
def icp_rows():
    """9101 booked (VIES: valid), 9102 in Errors (not registered), 9103 Open (the French service is down), 9104 booked, no ICP."""
    store = get_store()
    vies = ViesStore.of(store)
    seen = [
        {"order_id": oid, "reference": f"VIESORD{oid}", "shop_status": 2, "date_upd": dt.datetime(2025, 3, day, 9), "order_date": dt.date(2025, 3, day)}
        for oid, day in zip(IDS, (3, 4, 5, 6), strict=True)
    ]
    store.record_seen(TENANT, seen, "seed")
    store.save_plans(TENANT, [{"order_id": i, "sales_number": f"LEG-VIES{i}", "total_incl": "96.00", "total_excl": "96.00", "rows": []} for i in (9101, 9104)], "seed")
    for oid in (9101, 9104):
        store.order_claims.claim(TENANT, oid, "seed")
        store.order_claims.booked(TENANT, oid, "seed", "seed", eb_kind="mutation", eb_id=71000 + oid, eb_number=f"LEG-VIES{oid}", relation_code="TheehuisGe")
    vies.save_answer("BE0428759497", None, valid=True, name="Theehuis Gent BVBA", address="Veldstraat 12 9000 Gent", request_date=dt.date(2025, 3, 3))
    vies.save_answer("BE0999999724", None, valid=False, name=None, address=None, request_date=dt.date(2025, 3, 4))
    vies.save_fault("FR40303265045", None, "MS_UNAVAILABLE", asked=True)
    vies.link_orders(TENANT, {9101: "BE0428759497", 9102: "BE0999999724", 9103: "FR40303265045"})
    store.set_order_facts(TENANT, {9102: {"amount_incl": Decimal("96.00"), "customer_name": "Els Peeters (Firma)", "customer_email": "els@firma.be"}})
    store.set_errors(TENANT, {9102: ("VAT number BE0999999724 is not registered in VIES (checked 2025-03-04)", "VIES_INVALID")}, "seed")
    vies.set_waiting(TENANT, {9103: "VIES could not confirm FR40303265045: the French service is unavailable; tried again next run"}, "seed")
    yield store
    with store.begin() as conn:
        conn.execute(delete(orders).where(orders.c.tenant == TENANT, orders.c.order_id.in_(IDS)))
        conn.execute(delete(vies_orders).where(vies_orders.c.tenant == TENANT, vies_orders.c.order_id.in_(IDS)))
        conn.execute(delete(vies_numbers).where(vies_numbers.c.vat_number.in_(NUMBERS)))


@pytest.fixture(scope="module")
def auth(tokens):
    return bearer(tokens["clerk"])


def _rows(client, auth, **params) -> list[dict]:
    answer = client.get(f"{API}/orders", params={**PERIOD, **params}, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def test_report_rows_carry_the_vat_number_and_vies_verdict(client, auth, icp_rows):
    rows = {r["order_id"]: r for r in _rows(client, auth, state="booked")}
    assert set(rows) == {9101, 9104}
    assert set(ORDER_FIELDS) | {"kind", "amount_vat", "in_doubt", "cancelled", "hint", "vat_number", "vies"} <= set(rows[9101])  # added, none removed
    assert rows[9101]["vat_number"] == "BE0428759497"
    assert rows[9101]["vies"] == {
        "status": "valid", "checked": "2025-03-03", "name": "Theehuis Gent BVBA", "address": "Veldstraat 12 9000 Gent", "fault": None,
        "unconfirmed_since": None, "label": "VIES ✓ BE0428759497 · Theehuis Gent BVBA (checked 2025-03-03)",
        "title": "Theehuis Gent BVBA · Veldstraat 12 9000 Gent",
    }  # fmt: skip
    assert rows[9104]["vat_number"] is None and rows[9104]["vies"] is None  # not an ICP order


def test_errors_and_open_rows(client, auth, icp_rows):
    (error,) = _rows(client, auth, state="error")
    assert error["reason"] == "VAT number BE0999999724 is not registered in VIES (checked 2025-03-04)" and error["error_code"] == "VIES_INVALID"
    assert error["vies"]["status"] == "not_registered" and error["vies"]["label"] == "VIES ✗ BE0999999724 not registered (checked 2025-03-04)"
    assert error["hint"].startswith("VIES does not know this VAT number as registered.") and "vat.vies: warn" in error["hint"]
    (waiting,) = _rows(client, auth, state="open")
    assert waiting["reason"] == "VIES could not confirm FR40303265045: the French service is unavailable; tried again next run"
    assert (waiting["error_code"], waiting["vat_number"]) == ("VIES_WAIT", "FR40303265045")
    assert waiting["vies"]["status"] == "unconfirmed" and waiting["vies"]["fault"] == "MS_UNAVAILABLE"
    assert waiting["vies"]["label"] == "VIES: FR40303265045 not confirmed yet (the French service is unavailable)"
    assert waiting["vies"]["unconfirmed_since"] is not None and not waiting["cancelled"]


def test_the_pages_show_the_verdict_beside_the_reference(client, auth, icp_rows):
    report = client.get(PAGE, params={"tab": "booked", **PERIOD}, headers=auth)
    assert report.status_code == 200
    assert '<span class="vies vies-valid" title="Theehuis Gent BVBA · Veldstraat 12 9000 Gent">VIES ✓ BE0428759497 · Theehuis Gent BVBA (checked 2025-03-03)</span>' in report.text
    errors = client.get(PAGE, params={"tab": "error", **PERIOD}, headers=auth).text
    assert "vies-not_registered" in errors and "VIES ✗ BE0999999724 not registered (checked 2025-03-04)" in errors
    opened = client.get(PAGE, params={"tab": "open", **PERIOD}, headers=auth).text
    assert "vies-unconfirmed" in opened and "VIES could not confirm FR40303265045: the French service is unavailable; tried again next run" in opened


def test_a_run_follow_up_carries_the_keys_too(client, auth, icp_rows, monkeypatch):
    from prestashop_eboekhouden.ui import app as ui_app

    monkeypatch.setattr(ui_app, "run_state", lambda dag_id, run_id, tz=None: {"state": "success", "note": "", "url": "/x"})
    answer = client.get(f"{API}/runs/manual__x", params={"order_ids": "9101,9103"}, headers=auth)
    assert answer.status_code == 200
    assert [(o["order_id"], o["vies"]["status"]) for o in answer.json()["orders"]] == [(9101, "valid"), (9103, "unconfirmed")]


def test_vies_view_of_an_expired_verdict_that_could_not_be_renewed():
    from prestashop_eboekhouden.domain.vies import ViesRecord
    from prestashop_eboekhouden.ui.vies import vies_view

    record = ViesRecord(
        "BE0428759497", valid=True, name="Theehuis Gent BVBA", request_date=dt.date(2025, 1, 2), checked_at=dt.datetime(2025, 1, 2, 10),
        fault="MS_UNAVAILABLE", fault_at=dt.datetime(2025, 3, 5, 10), unconfirmed_since=dt.datetime(2025, 3, 5, 10),
    )  # fmt: skip
    view = vies_view("BE0428759497", record)
    assert view["status"] == "unconfirmed" and view["checked"] == "2025-01-02" and view["name"] == "Theehuis Gent BVBA"
    assert view["label"] == "VIES: BE0428759497 not confirmed yet (the Belgian service is unavailable); last verdict valid on 2025-01-02"
    assert vies_view("BE0428759497", None)["label"] == "VIES: BE0428759497 not confirmed yet"
