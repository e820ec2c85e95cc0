"""The nightly recheck and the daily payments DAG end to end, through real Airflow against the sandbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN
from prestashop_eboekhouden.ui.queries import DashboardQueries

from .conftest import ANCHOR, customer, eb_fault, line, per_number, run_dag, sale_mutations, window, write_tenant

pytestmark = pytest.mark.airflow
HOURLY, NIGHTLY, PAYMENTS = "demo__orders_hourly", "demo__open_orders_nightly", "demo__payments_daily"
D = Decimal


def order(sandbox, email: str, price: str, *, state: int = 2, at: str = "2026-11-20 10:30:00", **extra) -> int:
    spec = {**customer(email, "Piet", email.split("@")[0].capitalize()), "lines": [line("Assam", price)], "state": state,
            "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie", **extra}
    return int(sandbox.shop.create_order(spec)["id"])


def book_hour(hour: dt.datetime = dt.datetime(2026, 11, 20, 11)) -> None:
    assert run_dag(HOURLY, hour=hour).state == "success"


def payment_mutations(sandbox) -> list[dict]:
    """Payments against this tenant's sales (the seeded administration has older ones of its own)."""
    return [m for m in sandbox.books.mutations() if m["type"] == 3 and any(str(r["invoiceNumber"]).startswith("DEMO-") for r in m["rows"])]


def stored_payments(store, tenant: str = "demo") -> list[dict]:
    rows, _ = DashboardQueries(store).payment_rows(tenant, limit=500)
    return rows


def test_paid_order_gets_its_payment_booked_against_the_outstanding_item(make_sandbox, state_store):
    sandbox = make_sandbox()
    oid = order(sandbox, "paid@example.nl", "24.95", payments=[{"amount": "24.95", "payment_method": "iDEAL", "transaction_id": "tr_paid01", "date_add": "2026-11-20 10:31:00"}])
    book_hour()
    sale = state_store.get_orders("demo", [oid])[oid]
    assert run_dag(PAYMENTS).state == "success"
    (payment,) = payment_mutations(sandbox)
    codes = {int(item["id"]): item["code"] for item in sandbox.books.ledgers()}
    assert (payment["date"], codes[payment["ledgerId"]], payment["inExVat"], payment["entryNumber"]) == ("2026-11-20", "1110", "IN", "tr_paid01")
    assert payment["description"] == f"iDEAL - {sale['eb_id']} - tr_paid01"
    assert [(r["amount"], r["vatCode"], r["invoiceNumber"]) for r in payment["rows"]] == [(D("24.95"), "GEEN", sale["sales_number"])]
    assert payment["relationId"] == sale["relation_id"]
    assert sale["sales_number"] not in {o["invoiceNumber"] for o in sandbox.books.outstanding()}  # settled
    (row,) = stored_payments(state_store)
    assert (row["state"], row["eb_id"], row["amount"]) == (BOOKED, payment["id"], D("24.95"))
    assert state_store.get_orders("demo", [oid])[oid]["payment_state"] == "paid"
    # rerun and a backfill-like series of daily runs: no second payment
    assert run_dag(PAYMENTS).state == "success"
    for day in range(1, 4):
        assert run_dag(PAYMENTS, hour=ANCHOR + dt.timedelta(days=day)).state == "success"
    assert len(payment_mutations(sandbox)) == 1


def test_amount_mismatch_is_refused_with_both_amounts(make_sandbox, state_store):
    sandbox = make_sandbox()
    order(sandbox, "short@example.nl", "30.00", payments=[{"amount": "29.99", "payment_method": "Bank wire", "transaction_id": "BW-1", "date_add": "2026-11-20 10:31:00"}])
    book_hour()
    sales_number = sale_mutations(sandbox)[0]["invoiceNumber"]
    assert run_dag(PAYMENTS).state == "success"
    (row,) = stored_payments(state_store)
    assert row["state"] == ERROR and row["reason"] == f"Payment 29.99 ≠ outstanding 30.00 for {sales_number}: nothing booked"
    assert payment_mutations(sandbox) == []


def test_sale_already_settled_in_e_boekhouden(make_sandbox, state_store):
    sandbox = make_sandbox()
    order(sandbox, "settled@example.nl", "15.00")
    book_hour()
    sale = sale_mutations(sandbox)[0]
    bank = sandbox.books.ledger_by_code("1100")
    sandbox.books.create_mutation({  # the bookkeeper matched the bank transfer by hand
        "type": 3, "date": "2026-11-21", "ledgerId": bank["id"], "relationId": sale["relationId"], "inExVat": "IN",
        "rows": [{"amount": "15.00", "vatCode": "GEEN", "invoiceNumber": sale["invoiceNumber"], "relationId": sale["relationId"]}],
    })
    assert run_dag(PAYMENTS).state == "success"
    (row,) = stored_payments(state_store)
    assert row["state"] == ERROR and row["reason"].startswith(f"No outstanding item for {sale['invoiceNumber']}")
    assert len(payment_mutations(sandbox)) == 1 and payment_mutations(sandbox)[0]["ledgerId"] == bank["id"]  # only the bookkeeper's


def test_two_partial_payments_book_when_they_add_up(make_sandbox, state_store):
    sandbox = make_sandbox()
    order(sandbox, "split@example.nl", "50.00", payments=[
        {"amount": "20.00", "payment_method": "Bank wire", "transaction_id": "BW-A", "date_add": "2026-11-20 10:31:00"},
        {"amount": "30.00", "payment_method": "Bank wire", "transaction_id": "BW-B", "date_add": "2026-11-20 10:40:00"},
    ])
    book_hour()
    assert run_dag(PAYMENTS).state == "success"
    assert sorted(r["amount"] for m in payment_mutations(sandbox) for r in m["rows"]) == [D("20.00"), D("30.00")]
    assert {r["state"] for r in stored_payments(state_store)} == {BOOKED}
    assert sandbox.books.outstanding() == [o for o in sandbox.books.outstanding() if not o["invoiceNumber"].startswith("DEMO-")]


def test_a_bank_transfer_four_months_after_the_order_is_booked(make_sandbox, state_store, tenants_dir):
    # issue 15 #9: payments follow every booked order for payments.months_back (default 12), not only the
    # open-order recheck's recheck.months_back (3 here); the order is from July, the transfer from November.
    sandbox = make_sandbox()
    oid = order(sandbox, "late@example.nl", "42.00", at="2026-07-15 10:30:00",
                payments=[{"amount": "42.00", "payment_method": "Bank wire", "transaction_id": "BW-LATE", "date_add": "2026-11-19 09:00:00"}])
    book_hour(dt.datetime(2026, 7, 15, 11))
    assert state_store.get_orders("demo", [oid])[oid]["state"] == BOOKED
    write_tenant(tenants_dir, {"payments": {"months_back": 3}})  # shorter than the order's age: not looked at
    assert run_dag(PAYMENTS).state == "success"
    assert payment_mutations(sandbox) == [] and stored_payments(state_store) == []
    write_tenant(tenants_dir, {})  # the default: 12 months
    assert run_dag(PAYMENTS).state == "success"
    (payment,) = payment_mutations(sandbox)
    assert [(r["amount"], r["invoiceNumber"]) for r in payment["rows"]] == [(D("42.00"), state_store.get_orders("demo", [oid])[oid]["sales_number"])]
    assert payment["entryNumber"] == "BW-LATE"


def test_unpaid_in_the_shop_waits_unless_payments_always(make_sandbox, state_store, tenants_dir):
    sandbox = make_sandbox()
    write_tenant(tenants_dir, {"prestashop": {"process_statuses": [2, 3, 4, 5, 10]}})
    order(sandbox, "later@example.nl", "12.00", state=10, payments=[{"amount": "12.00", "payment_method": "Bank wire", "transaction_id": "BW-9", "date_add": "2026-11-20 10:31:00"}])
    book_hour()
    assert run_dag(PAYMENTS).state == "success"
    assert payment_mutations(sandbox) == [] and stored_payments(state_store) == []
    write_tenant(tenants_dir, {"prestashop": {"process_statuses": [2, 3, 4, 5, 10]}, "payments": {"enabled": True, "always": True, "ledgers": {"default": "1100"}}})
    assert run_dag(PAYMENTS).state == "success"
    assert len(payment_mutations(sandbox)) == 1


def test_a_lost_payment_answer_is_adopted_not_paid_twice(make_sandbox, state_store, eb_backend):
    sandbox = make_sandbox()
    order(sandbox, "drop@example.nl", "19.00", payments=[{"amount": "19.00", "payment_method": "iDEAL", "transaction_id": "tr_drop", "date_add": "2026-11-20 10:31:00"}])
    book_hour()
    eb_fault(sandbox, eb_backend, "create_mutation", action="drop_after_commit", times=1)
    assert run_dag(PAYMENTS).state == "success"
    assert len(payment_mutations(sandbox)) == 1
    (row,) = stored_payments(state_store)
    assert row["state"] == BOOKED and row["reason"] == "Adopted the payment e-Boekhouden already had"


def test_nightly_books_orders_that_reached_a_status_and_retires_old_ones(make_sandbox, state_store):
    sandbox = make_sandbox()
    recent = order(sandbox, "recent@example.nl", "9.00", state=10)
    old = order(sandbox, "old@example.nl", "9.00", state=10, at="2026-07-10 09:00:00")
    book_hour()
    assert run_dag(HOURLY, conf=window(dt.datetime(2026, 7, 10), dt.datetime(2026, 7, 11))).state == "success"
    assert {r["state"] for r in state_store.get_orders("demo", [recent, old]).values()} == {OPEN}
    sandbox.shop.update_order(recent, current_state=2, date_upd="2026-11-20 23:00:00")  # paid late in the evening
    assert run_dag(NIGHTLY).state == "success"
    rows = state_store.get_orders("demo", [recent, old])
    assert rows[recent]["state"] == BOOKED
    assert rows[old]["state"] == ERROR and rows[old]["reason"] == "older than 3 months: book by hand or migrate"
    assert run_dag(NIGHTLY).state == "success"  # a second night changes nothing
    assert per_number(sale_mutations(sandbox)) == {rows[recent]["sales_number"]: 1}
