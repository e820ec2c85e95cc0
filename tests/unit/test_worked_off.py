"""Issue 25 in the store and the pipeline: Errors worked off stay final (never claimed, planned, moved or booked), a
sales number already sent keeps its form when the rule changes, a mistyped order id is stored nowhere, payments booked
by hand settle the order, a credit slip in Errors is checked again when its order is processed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN, RESOLVED, StateStore


@pytest.fixture
def store(tmp_path):
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def seen(order_id, status=2, ref=None):
    return {"order_id": order_id, "reference": ref or f"REF{order_id}", "shop_status": status, "date_upd": dt.datetime(2026, 11, 20, 10), "order_date": dt.date(2026, 11, 20)}


def plan(order_id, number=None):
    return {"order_id": order_id, "sales_number": number or f"S{order_id}", "total_incl": "12.95", "total_excl": "10.70", "rows": []}


def test_worked_off_is_final_and_kept(store):
    store.record_seen("t", [seen(1), seen(2), seen(3)])
    store.set_errors("t", {1: ("Order total 12.96 ≠ lines …", "PRECHECK"), 2: ("MUT_109", "MUT_109")})
    assert store.resolve("t", "order", [1, 3], "by_hand", "clerk", "memoriaal 118") == [1]  # 3 is not in Errors
    assert store.resolve("t", "order", [2], "dismissed", "clerk") == [2]
    row = store.get_orders("t", [1])[1]
    assert (row["state"], row["resolution"], row["resolved_by"], row["resolution_note"]) == (RESOLVED, "by_hand", "clerk", "memoriaal 118")
    assert row["reason"].startswith("Order total") and row["resolved_at"] is not None
    # nothing moves it or books it afterwards
    store.record_seen("t", [seen(1, status=6)])
    store.set_errors("t", {1: ("again", "X")})
    store.set_open("t", [1], "waiting")
    store.save_plans("t", [plan(1)])
    assert store.order_claims.claim("t", 1, "task") is None
    row = store.get_orders("t", [1])[1]
    assert (row["state"], row["shop_status"], row["plan"], row["reason"]) == (RESOLVED, 2, None, "Order total 12.96 ≠ lines …")
    assert store.resolve("t", "order", [1], "dismissed", "other") == []  # worked off once: kept as it was
    with pytest.raises(ValueError):
        store.resolve("t", "order", [2], "deleted", "clerk")


def test_an_error_held_by_a_booking_task_is_not_worked_off(store):
    store.record_seen("t", [seen(1)])
    store.save_plans("t", [plan(1)])
    store.set_errors("t", {1: ("refused", "X")})
    store.order_claims.claim("t", 1, "task")
    assert store.resolve("t", "order", [1], "by_hand", "clerk") == []


def test_an_in_doubt_sales_number_is_kept_whatever_the_rule_makes_of_it_now(store):
    store.record_seen("t", [seen(1, ref="<b>X</b>"), seen(2)])
    store.save_plans("t", [plan(1, "<b>X</b>"), plan(2, "OLD-2")])  # numbers as an earlier version made them
    store.order_claims.claim("t", 1, "crashed")
    store.order_claims.record_intent("t", 1, "crashed")  # sent; the answer was lost
    store.order_claims.release("t", 1, "crashed")
    numbers = store.save_plans("t", [plan(1, "b-X-b"), plan(2, "NEW-2")])  # validated again under the safe rule
    assert numbers == {1: "<b>X</b>", 2: "NEW-2"}  # 1 is looked up (and adopted) under the number it was sent with
    assert store.get_orders("t", [1])[1]["plan"]["sales_number"] == "<b>X</b>"
    claim = store.order_claims.claim("t", 1, "retry")
    assert claim is not None and claim.had_intent and claim.row["plan"]["sales_number"] == "<b>X</b>"


def test_an_in_doubt_credit_number_is_kept_too(store):
    store.record_seen("t", [seen(1)])
    store.record_slips("t", [{"slip_id": 7, "order_id": 1, "reference": "", "slip_date": dt.date(2026, 11, 21), "date_upd": None}])
    credit = {"slip_id": 7, "order_id": 1, "sales_number": "A B-C7", "total_incl": "-1.00", "total_excl": "-1.00", "rows": []}
    store.save_credit_plans("t", [credit])
    store.credit_claims.claim("t", 7, "crashed")
    store.credit_claims.record_intent("t", 7, "crashed")
    store.credit_claims.release("t", 7, "crashed")
    store.save_credit_plans("t", [{**credit, "sales_number": "A-B-C7"}])
    assert store.get_credits("t", [7])[7]["sales_number"] == "A B-C7"


def test_status_names_and_slip_amounts(store):
    store.remember_statuses("t", {2: "Payment accepted", 10: "Awaiting bank wire payment"})
    store.remember_statuses("t", {10: "Awaiting bank transfer"})
    assert store.status_names("t") == {2: "Payment accepted", 10: "Awaiting bank transfer"}
    store.record_slips("t", [{"slip_id": 7, "order_id": 1, "reference": "", "slip_date": None, "date_upd": None}])
    store.set_credit_amounts("t", {7: Decimal("-12.10")})
    assert store.get_credits("t", [7])[7]["amount_incl"] == Decimal("-12.10")


class Shop:
    """The shop's light order rows: only order 1 exists."""

    def order_refs_by_ids(self, ids):
        return [{"id": "1", "reference": "REF1", "current_state": "10", "date_upd": "2026-11-20 10:00:00", "date_add": "2026-11-20 09:00:00"}] if 1 in ids else []

    def order_states(self):
        from prestashop_eboekhouden.domain.model import OrderState

        return {10: OrderState(10, "Awaiting bank wire payment")}


def test_a_mistyped_order_id_is_stored_nowhere_but_a_known_one_goes_to_errors(store):
    from prestashop_eboekhouden.pipeline.orders import extract_ids

    from .shop_json import tenant

    store.record_seen("acme", [seen(5)])  # once an order of the shop
    result = extract_ids(tenant(), Shop(), store, [1, 5, 999999], "run")
    assert result.not_in_shop == [999999] and result.as_xcom()["not_in_shop"] == [999999]
    rows = store.get_orders("acme", [1, 5, 999999])
    assert 999999 not in rows
    assert (rows[5]["state"], rows[5]["error_code"]) == (ERROR, "NOT_FOUND")
    assert rows[1]["state"] == OPEN and store.status_names("acme") == {10: "Awaiting bank wire payment"}


def test_a_payment_booked_by_hand_settles_the_order_and_is_not_sent(store):
    from prestashop_eboekhouden.pipeline.payments import PaymentBooker

    from .shop_json import tenant

    store.record_seen("acme", [seen(1)])
    store.save_plans("acme", [plan(1)])
    store.order_claims.claim("acme", 1, "o")
    store.order_claims.booked("acme", 1, "o", eb_id=5, eb_kind="mutation", eb_number="S1", relation_id=3, relation_code="J")
    store.record_payments("acme", [{"payment_id": 9, "order_id": 1, "reference": "REF1", "sales_number": "S1", "amount": Decimal("12.95"),
                                    "method": "Bank wire", "transaction_id": "T9", "payment_date": dt.datetime(2026, 11, 21)}])  # fmt: skip
    store.set_payment_errors("acme", {9: ("No outstanding item", "OUTSTANDING")})
    assert store.resolve("acme", "payment", [9], "by_hand", "clerk") == [9]

    class NoCalls:
        def __getattr__(self, name):
            raise AssertionError(f"e-Boekhouden was asked ({name}) about a payment booked by hand")

    booker = PaymentBooker(tenant(), NoCalls(), store, "owner")
    booker.book_order(store.get_orders("acme", [1])[1], store.payments_of_orders("acme", [1])[1])
    assert store.get_orders("acme", [1])[1]["payment_state"] == "paid"
    assert store.get_payments("acme", [9])[9]["state"] == RESOLVED


def test_processing_an_order_checks_its_credit_slips_in_errors_again(store):
    from prestashop_eboekhouden.pipeline.credits import waiting_slips

    from .shop_json import tenant

    store.record_slips("acme", [{"slip_id": s, "order_id": 1, "reference": "", "slip_date": None, "date_upd": None} for s in (7, 8, 9)])
    store.set_credit_errors("acme", {8: ("The order was refused: …", "ORDER_REFUSED"), 9: ("by hand", "BY_HAND")})
    store.resolve("acme", "credit", [9], "by_hand", "clerk")
    assert waiting_slips(tenant(), store, decided_only=False, order_ids=[1]) == [7]
    assert waiting_slips(tenant(), store, decided_only=False, order_ids=[1], with_errors=True) == [7, 8]  # never the worked-off one
    assert BOOKED not in {r["state"] for r in store.get_credits("acme", [7, 8, 9]).values()}


def test_open_orders_carry_the_shops_total_from_the_light_rows(store):
    from prestashop_eboekhouden.pipeline.orders import sort_seen

    from .shop_json import tenant

    rows = [{"id": "3", "reference": "REF3", "current_state": "10", "date_upd": "2026-11-20 10:00:00", "date_add": "2026-11-20 09:00:00", "total_paid_tax_incl": "48.399999"},
            {"id": "4", "reference": "REF4", "current_state": "10", "date_upd": "2026-11-20 10:00:00", "date_add": "2026-11-20 09:00:00", "total_paid_tax_incl": "n/a"}]  # fmt: skip
    sort_seen(tenant(), store, rows, Shop().order_states(), "run")
    stored = store.get_orders("acme", [3, 4])
    assert stored[3]["amount_incl"] == Decimal("48.40") and stored[4]["amount_incl"] is None and stored[3]["state"] == OPEN
