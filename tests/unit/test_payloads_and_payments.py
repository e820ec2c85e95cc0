"""e-Boekhouden request bodies and the payment rules, on exact amounts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from prestashop_eboekhouden.domain.booking import build_plan
from prestashop_eboekhouden.domain.normalize import normalize_order
from prestashop_eboekhouden.domain.payloads import invoice_payload, mutation_payload, payment_payload, relation_payload, to_json
from prestashop_eboekhouden.domain.payments import decide, normalize_payment, payment_description

from .shop_json import address, context, customer, detail, order, tenant

D = Decimal
LEDGERS = {"1300": 11, "8000": 80, "8010": 81, "8020": 82, "1100": 10}


def _plan(details, **totals):
    raw = order(**totals)
    normalized = normalize_order(raw, details, customer(), [address()], context())
    return build_plan(normalized, tenant(), context())


SHIPPING_PLAN = dict(
    details=[detail("Tea towel", 3, "4.990000", "4.123967", "14.970000", "12.371901")],
    products_wt="14.970000", products="12.370000", shipping=("3.950000", "3.264463", "21.000"), paid_incl="18.920000", paid_excl="15.630000",
)


def test_mutation_books_rows_including_vat_so_the_total_is_the_shop_total():
    plan = _plan(**SHIPPING_PLAN)
    body = mutation_payload(plan, LEDGERS, "1300", relation_id=7)
    assert body == {
        "type": 2,
        "date": "2026-11-20",
        "ledgerId": 11,
        "relationId": 7,
        "invoiceNumber": "XKBKNABJK",
        "description": "XKBKNABJK - Bank wire",
        "termOfPayment": 14,
        "paymentReference": "XKBKNABJK",  # manual: payment reference = the order number
        "inExVat": "IN",
        "rows": [
            {"ledgerId": 80, "vatCode": "HOOG_VERK_21", "amount": D("14.97"), "description": "Tea towel"},
            {"ledgerId": 80, "vatCode": "HOOG_VERK_21", "amount": D("3.95"), "description": "Shipping"},
        ],
    }
    # e-Boekhouden computes VAT from IN amounts: the total stays 18.92. Booked EX (12.37 + 3.26 at 21%)
    # it would become 12.37 * 1.21 + 3.26 * 1.21 = 14.97 + 3.94 = 18.91: a cent short of what the customer paid.
    assert sum(r["amount"] for r in body["rows"]) == D("18.92")
    assert (D("3.26") * D("1.21")).quantize(D("0.01")) == D("3.94")


def test_payment_reference_is_the_order_number_or_the_invoice_number_on_request():
    raw = order(products_wt="12.950000", products="10.700000", paid_incl="12.950000", paid_excl="10.700000", invoice_number="123")
    details = [detail("Kettle 1L", 1, "12.950000", "10.702479", "12.950000", "10.700000")]
    normalized = normalize_order(raw, details, customer(), [address()], context())
    by_reference = build_plan(normalized, tenant(eboekhouden={"sales_number_prefix": "WEB-"}), context())
    assert mutation_payload(by_reference, LEDGERS, "1300", 7)["paymentReference"] == "XKBKNABJK"  # without our prefix
    by_invoice = build_plan(normalized, tenant(eboekhouden={"sales_number": "invoice_number", "sales_number_prefix": "WEB-"}), context())
    assert by_invoice.sales_number == "WEB-123"
    assert mutation_payload(by_invoice, LEDGERS, "1300", 7)["paymentReference"] == "123"
    assert invoice_payload(by_invoice, LEDGERS, "1300", 7, 3, with_mutation=True)["mutation"]["paymentReference"] == "123"
    # a plan stored before the field existed still sends a reference: its sales number
    stored = by_reference.to_dict()
    del stored["payment_reference"]
    assert mutation_payload(type(by_reference).from_dict(stored), LEDGERS, "1300", 7)["paymentReference"] == "WEB-XKBKNABJK"


def test_json_writes_decimals_as_exact_numbers():
    assert to_json({"amount": D("14.97"), "neg": D("-0.10")}) == b'{"amount":14.97,"neg":-0.10}'
    assert json.loads(to_json({"a": D("0.30")}), parse_float=Decimal)["a"] == D("0.30")


def test_invoice_items_use_unit_prices_only_when_exact():
    plan = _plan(
        details=[
            detail("Tea towel", 3, "4.990000", "4.123967", "14.970000", "12.371901", sku="TT-1"),
            detail("Napkin", 7, "1.190000", "0.983471", "8.330000", "6.884297", sku="NP-7", id="2"),
            detail("Candle", 3, "3.333333", "2.754821", "10.000000", "8.264463", sku="CA-3", id="3"),
        ],
        products_wt="33.300000", products="27.510000", paid_incl="33.300000", paid_excl="27.510000",
    )
    body = invoice_payload(plan, LEDGERS, "1300", relation_id=7, template_id=3, with_mutation=True)
    assert body["items"] == [
        {"quantity": D(3), "description": "Tea towel", "pricePerUnit": D("4.99"), "vatCode": "HOOG_VERK_21", "ledgerId": 80, "code": "TT-1"},
        {"quantity": D(7), "description": "Napkin", "pricePerUnit": D("1.19"), "vatCode": "HOOG_VERK_21", "ledgerId": 80, "code": "NP-7"},
        {"quantity": D(1), "description": "3 x Candle", "pricePerUnit": D("10.00"), "vatCode": "HOOG_VERK_21", "ledgerId": 80, "code": "CA-3"},
    ]
    assert sum(i["quantity"] * i["pricePerUnit"] for i in body["items"]) == D("33.30")
    assert body["inExVat"] == "IN" and body["templateId"] == 3 and body["reference"] == "XKBKNABJK"
    assert "invoiceNumber" not in body  # XKBKNABJK does not end in a digit: e-Boekhouden numbers it
    assert body["mutation"] == {"ledgerId": 11, "description": "XKBKNABJK - Bank wire", "paymentReference": "XKBKNABJK"}
    assert "mutation" not in invoice_payload(plan, LEDGERS, "1300", 7, 3, with_mutation=False)


def test_relation_payload_fills_address_and_leaves_out_empty_fields():
    plan = _plan(**SHIPPING_PLAN)
    assert relation_payload(plan.debtor, "JanJansen") == {
        "type": "P",
        "code": "JanJansen",
        "name": "Jan Jansen",
        "address": "Kerkstraat 1",
        "postalCode": "1011 AA",
        "city": "Amsterdam",
        "country": "NL",
        "phoneNumber": "020 123 4567",
        "emailAddress": "jan.jansen@example.nl",
    }


def test_payment_mutation_follows_the_manual():
    body = payment_payload(
        date="2026-11-21", ledger_id=10, relation_id=7, sales_number="DEMO-XKBKNABJK", amount=D("18.92"),
        description=payment_description("iDEAL", 4711, "tr_qwer"), transaction_id="tr_qwer",
    )
    assert body == {
        "type": 3,
        "date": "2026-11-21",
        "ledgerId": 10,
        "relationId": 7,
        "invoiceNumber": "DEMO-XKBKNABJK",
        "description": "iDEAL - 4711 - tr_qwer",
        "inExVat": "IN",
        "entryNumber": "tr_qwer",
        # the row names the relation too: the official description answers MUT_112 "Relation is missing" otherwise
        "rows": [{"amount": D("18.92"), "vatCode": "GEEN", "invoiceNumber": "DEMO-XKBKNABJK", "relationId": 7, "description": "iDEAL - 4711 - tr_qwer"}],
    }


@pytest.mark.parametrize(
    ("payments", "outstanding", "without", "book", "reason"),
    [
        ([(1, "18.92")], "18.92", False, [1], None),
        ([(1, "10.00"), (2, "8.92")], "18.92", False, [1, 2], None),
        ([(1, "18.91")], "18.92", False, [], "Payment 18.91 ≠ outstanding 18.92 for S1: nothing booked"),
        ([(1, "10.00"), (2, "8.00")], "18.92", False, [], "Payments (2) total 18.00 ≠ outstanding 18.92 for S1: nothing booked"),
        ([(1, "18.92")], None, False, [], "No outstanding item for S1 in e-Boekhouden (the sale is not there, or already paid)"),
        ([(1, "18.92")], None, True, [1], None),
    ],
)
def test_payment_decision(payments, outstanding, without, book, reason):
    decision = decide("S1", [(pid, D(a)) for pid, a in payments], D(outstanding) if outstanding else None, without)
    assert decision.book == book
    assert set(decision.refuse.values()) == ({reason} if reason else set())


def test_normalize_payment():
    payment = normalize_payment(
        {"id": "31", "order_reference": "XKBKNABJK", "amount": "18.920000", "payment_method": "iDEAL", "transaction_id": "tr_1", "date_add": "2026-11-21 09:00:00"}
    )
    assert (payment.payment_id, payment.amount, payment.method, payment.date.isoformat()) == (31, D("18.92"), "iDEAL", "2026-11-21T09:00:00")
