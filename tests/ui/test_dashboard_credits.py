"""Credit slips (issue 19) in the dashboard, inside the real Airflow API server: Report, Errors and Open list them
beside the orders with their own kind, the period filter and the search find them, tab counts and the Report's totals
include them (a credit is negative), the CSV carries them, and the Payments tab names a booked credit as a refund to
settle in e-Boekhouden. The slips are put in each state through the store's own API; the rows are removed afterwards,
so the other modules' counts of this tenant hold whatever the order the modules run in."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import delete

from prestashop_eboekhouden.schema import credits, orders
from prestashop_eboekhouden.store import get_store
from prestashop_eboekhouden.ui.rows import ORDER_FIELDS

from .conftest import bearer

TENANT = "demo_legacy"
API = f"/bookkeeping/api/tenants/{TENANT}"
PAGE = f"/bookkeeping/tenants/{TENANT}"
D = dt.date
# a period of their own (June 2025): the other modules' rows of this tenant are in November 2026
PERIOD = {"since": "2025-06-01", "until": "2025-06-30"}


@pytest.fixture(scope="module")
def slips():
    """Orders 9001-9003 (booked, booked, refused) and slips: 501 booked (-12.10), 502 in doubt, 503 of the refused
    order (Errors), 504 of an order not booked yet (Open), 505 refused on its own total (Errors)."""
    store = get_store()
    seen = [
        {"order_id": 9001, "reference": "CRDTAAAAA", "shop_status": 4, "date_upd": dt.datetime(2025, 6, 2, 9), "order_date": D(2025, 6, 2)},
        {"order_id": 9002, "reference": "CRDTBBBBB", "shop_status": 4, "date_upd": dt.datetime(2025, 6, 3, 9), "order_date": D(2025, 6, 3)},
        {"order_id": 9003, "reference": "CRDTCCCCC", "shop_status": 2, "date_upd": dt.datetime(2025, 6, 4, 9), "order_date": D(2025, 6, 4)},
    ]
    store.record_seen(TENANT, seen, "seed")
    store.save_plans(TENANT, [{"order_id": i, "sales_number": f"LEG-CRDT{i}", "total_incl": "121.00", "total_excl": "100.00", "rows": []} for i in (9001, 9002)], "seed")
    for i in (9001, 9002):
        store.order_claims.claim(TENANT, i, "seed")
        store.order_claims.booked(TENANT, i, "seed", "seed", eb_kind="mutation", eb_id=70000 + i, eb_number=f"LEG-CRDT{i}", relation_code="Jansen")
    store.set_order_facts(TENANT, {9003: {"amount_incl": Decimal("48.40"), "customer_name": "Jan de Vries", "customer_email": "jan@example.nl"}})
    store.set_errors(TENANT, {9003: ("MUT_109 Invalid VAT code", "MUT_109")}, "seed")

    def slip(slip_id: int, order_id: int, day: int) -> dict:
        return {"slip_id": slip_id, "order_id": order_id, "reference": "", "slip_date": D(2025, 6, day), "date_upd": dt.datetime(2025, 6, day, 12)}

    store.record_slips(TENANT, [slip(501, 9001, 10), slip(502, 9002, 11), slip(503, 9003, 12), slip(504, 9004, 13), slip(505, 9001, 14)], "seed")
    store.save_credit_plans(
        TENANT,
        [
            {"slip_id": 501, "sales_number": "LEG-CRDT9001-C501", "total_incl": "-12.10", "total_excl": "-10.00", "relation_code": "Jansen"},
            {"slip_id": 502, "sales_number": "LEG-CRDT9002-C502", "total_incl": "-24.20", "total_excl": "-20.00", "relation_code": "Jansen"},
        ],
        "seed",
    )
    store.credit_claims.claim(TENANT, 501, "seed")
    store.credit_claims.booked(TENANT, 501, "seed", "scheduled__2025-06-10T12:00:00+00:00", eb_kind="mutation", eb_id=80501, eb_number="LEG-CRDT9001-C501")
    store.credit_claims.claim(TENANT, 502, "crashed")
    store.credit_claims.record_intent(TENANT, 502, "crashed")
    store.credit_claims.release(TENANT, 502, "crashed")
    store.set_credit_errors(TENANT, {503: ("The order was refused: MUT_109 Invalid VAT code", "ORDER_REFUSED")}, "seed")
    store.set_credits_open(TENANT, [504], "Waiting for the order to be booked", "seed")
    store.set_credit_errors(TENANT, {505: ("Credit slip 505 total 10.91 ≠ lines + shipping 10.90", "PRECHECK")}, "seed")
    yield store
    with store.begin() as conn:
        conn.execute(delete(credits).where(credits.c.tenant == TENANT, credits.c.slip_id.in_([501, 502, 503, 504, 505])))
        conn.execute(delete(orders).where(orders.c.tenant == TENANT, orders.c.order_id.in_([9001, 9002, 9003])))


@pytest.fixture(scope="module")
def auth(tokens):
    return bearer(tokens["clerk"])


def _rows(client, auth, **params) -> dict:
    answer = client.get(f"{API}/orders", params={**PERIOD, **params}, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_report_lists_a_booked_credit_with_its_own_kind_and_negative_amounts(client, auth, slips):
    data = _rows(client, auth, state="booked")
    assert [(r["kind"], r.get("slip_id"), r["order_id"]) for r in data["rows"]] == [("credit", 501, 9001), ("order", None, 9002), ("order", None, 9001)]
    credit, order = data["rows"][0], data["rows"][2]
    assert set(ORDER_FIELDS) <= set(order) and set(ORDER_FIELDS) <= set(credit)  # every key of an order row, on both kinds
    assert "slip_id" not in order
    assert {k: credit[k] for k in ("reference", "sales_number", "order_date", "state", "amount_incl", "amount_excl", "amount_vat", "eb_kind", "eb_id", "eb_number")} == {
        "reference": "CRDTAAAAA", "sales_number": "LEG-CRDT9001-C501", "order_date": "2025-06-10", "state": "booked",
        "amount_incl": "-12.10", "amount_excl": "-10.00", "amount_vat": "-2.10", "eb_kind": "mutation", "eb_id": 80501, "eb_number": "LEG-CRDT9001-C501",
    }
    # two orders of 121.00 and a refund of 12.10: the credit lowers the total
    assert data["totals"] == {"count": 3, "amount_incl": "229.90", "amount_excl": "190.00", "amount_vat": "39.90"}
    assert data["kinds"] == {"order": 2, "credit": 1}


def test_errors_and_open_hold_the_slips_that_wait_or_were_refused(client, auth, slips):
    errors = _rows(client, auth, state="error")
    assert [(r["kind"], r.get("slip_id") or r["order_id"], r["reason"]) for r in errors["rows"]] == [
        ("credit", 505, "Credit slip 505 total 10.91 ≠ lines + shipping 10.90"),
        ("credit", 503, "The order was refused: MUT_109 Invalid VAT code"),
        ("order", 9003, "MUT_109 Invalid VAT code"),
    ]
    assert errors["rows"][1]["reference"] == "CRDTCCCCC" and errors["rows"][1]["customer_name"] == "Jan de Vries"  # the order's
    opened = _rows(client, auth, state="open")
    assert [(r["kind"], r["slip_id"], r["in_doubt"]) for r in opened["rows"]] == [("credit", 504, False), ("credit", 502, True)]
    assert opened["rows"][0]["reason"] == "Waiting for the order to be booked"
    assert opened["rows"][1]["reason"].startswith("In doubt: e-Boekhouden's answer was lost")
    assert errors["counts"] == opened["counts"] == {"open": 2, "booked": 3, "error": 3, "resolved": 0}


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("501", [("credit", 501)]),  # a slip id
        ("9001", [("credit", 505), ("credit", 501), ("order", 9001)]),  # an order id: the order and its slips
        ("LEG-CRDT9001-C501", [("credit", 501)]),  # a credit's sales number, exactly
        ("leg-crdt9002-c", [("credit", 502)]),  # the start of one, in lower case
        ("CRDTAAAAA", [("order", 9001)]),  # an order's reference finds the order (a slip has no reference of its own)
    ],
)
def test_search_finds_slips_by_slip_id_order_id_and_sales_number(client, auth, slips, q, found):
    rows = _rows(client, auth, q=q)["rows"]
    assert [(r["kind"], r["slip_id"] if r["kind"] == "credit" else r["order_id"]) for r in rows] == found


def test_the_period_filters_slips_by_their_own_date(client, auth, slips):
    data = _rows(client, auth, since="2025-06-11", until="2025-06-12")
    assert sorted((r["kind"], r.get("slip_id")) for r in data["rows"]) == [("credit", 502), ("credit", 503)]
    assert data["counts"] == {"open": 1, "booked": 0, "error": 1, "resolved": 0}
    assert _rows(client, auth, state="booked", since="2025-06-11", until="2025-06-30")["totals"] == {"count": 0, "amount_incl": "0.00", "amount_excl": "0.00", "amount_vat": "0.00"}


def test_csv_of_the_report_carries_the_credit_and_adds_up_to_the_totals(client, auth, slips):
    answer = client.get(f"{API}/export.csv", params={"tab": "booked", **PERIOD}, headers=auth)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["kind"], r["slip_id"], r["order_id"], r["sales_number"], r["amount_incl"]) for r in rows] == [
        ("credit", "501", "9001", "LEG-CRDT9001-C501", "-12.10"), ("order", "", "9002", "LEG-CRDT9002", "121.00"), ("order", "", "9001", "LEG-CRDT9001", "121.00"),
    ]
    totals = _rows(client, auth, state="booked")["totals"]
    assert f"{sum(Decimal(r['amount_incl']) for r in rows):.2f}" == totals["amount_incl"]
    assert f"{sum(Decimal(r['amount_excl']) for r in rows):.2f}" == totals["amount_excl"]


def test_payments_name_a_booked_credit_as_a_refund_to_settle_in_eboekhouden(client, auth, slips):
    data = client.get(f"{API}/payments", params=PERIOD, headers=auth).json()
    assert data["refunds"] == [
        {"kind": "credit", "slip_id": 501, "order_id": 9001, "sales_number": "LEG-CRDT9001-C501", "slip_date": "2025-06-10", "amount": "-12.10", "eb_id": 80501, "note": "refund: settle in e-Boekhouden"}
    ]  # only the booked one: a waiting or refused slip has nothing to settle yet
    page = client.get(PAGE, params={"tab": "payments", **PERIOD}, headers=auth).text
    row = page.split('<tr class="refund" data-slip="501">', 1)[1].split("</tr>", 1)[0]
    assert "credit slip 501" in row and "LEG-CRDT9001-C501" in row and "-12.10" in row and "refund: settle in e-Boekhouden" in row


def test_report_page_shows_the_credit_row_and_totals_with_it(client, auth, slips):
    page = client.get(PAGE, params={"tab": "booked", **PERIOD}, headers=auth).text
    row = page.split('<tr class="credit" data-slip="501" data-kind="credit" data-key="501">', 1)[1].split("</tr>", 1)[0]
    assert "credit 501</span> · 9001" in row and "CRDTAAAAA" in row and "LEG-CRDT9001-C501" in row and "-12.10" in row and "-2.10" in row
    assert '<td class="num" data-label="Incl VAT" data-total="amount_incl">229.90</td>' in page
    assert "Total of 2 booked orders and 1 credit slip (refunds, negative) (filter)" in page
    assert "3 orders (1 credit slip)" in page
    assert page.count('data-kind="order"') == 2


def test_open_page_offers_a_process_box_for_a_slip_that_processes_its_order(client, auth, slips):
    page = client.get(PAGE, params={"tab": "open", **PERIOD}, headers=auth).text
    row = page.split('data-slip="504" data-kind="credit" data-key="504">', 1)[1].split("</tr>", 1)[0]
    assert "Waiting for the order to be booked" in row and "credit slip" in row
    assert '<input type="checkbox" class="pick" data-kind="credit" value="504"' in row  # Process sends slip_ids: the run takes the slip's order
