"""Every text field sent to e-Boekhouden within its documented maximum (contract.MAX_LENGTH): descriptive text is
cut to fit, what identifies is never cut — the order lands in Errors with the field named, and nothing is sent."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from prestashop_eboekhouden.contract.eboekhouden import MAX_LENGTH, too_long
from prestashop_eboekhouden.domain.booking import BookingRow, build_plan
from prestashop_eboekhouden.domain.normalize import normalize_order
from prestashop_eboekhouden.domain.payloads import invoice_payload, length_refusal, mutation_payload, payment_payload, relation_payload
from prestashop_eboekhouden.store import BOOKED, ERROR, StateStore

from .shop_json import address, context, customer, detail, order, tenant
from .test_debtors_and_adoption import Books

LEDGERS = {"1300": 11, "8000": 80, "8010": 81, "8020": 82, "1100": 10}


def plan(payment="Bank wire", **address_fields):
    raw = order(products_wt="12.100000", products="10.000000", paid_incl="12.100000", paid_excl="10.000000", payment=payment)
    details = [detail("Sencha", 1, "12.100000", "10.000000", "12.100000", "10.000000")]
    normalized = normalize_order(raw, details, customer(), [address(**address_fields)], context())
    return build_plan(normalized, tenant(), context())


# ---- what is cut (documented truncation) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "debtor_field", "value", "expected"),
    [
        ("name", "name", "N" * 130, "N" * 100),
        ("contact", "contact", "C" * 80, "C" * 50),
        ("address", "address", "A" * 200, "A" * 150),
        ("city", "city", "U" * 70, "U" * 50),
    ],
)
def test_a_debtors_descriptive_fields_are_cut_to_their_maximum(field, debtor_field, value, expected):
    debtor = dataclasses.replace(plan().debtor, **{debtor_field: value})
    body = relation_payload(debtor, "JanJansen")
    assert body[field] == expected and len(expected) == MAX_LENGTH["CreateRelation"][field][0]
    assert too_long("CreateRelation", body) == []


def test_descriptions_are_cut_the_sales_number_never():
    long_method = plan(payment="Achteraf betalen met Klarna in drie termijnen zonder rente")
    body = mutation_payload(long_method, LEDGERS, "1300", relation_id=7)
    assert body["description"] == long_method.description[:50] and len(long_method.description) > 50
    assert body["invoiceNumber"] == long_method.sales_number
    assert too_long("CreateMutation", body) == []
    with_mutation = invoice_payload(long_method, LEDGERS, "1300", 7, template_id=3, with_mutation=True)
    assert with_mutation["mutation"]["description"] == long_method.description  # 200 allowed there
    assert with_mutation["text"] == long_method.description


def test_a_payments_entry_number_and_description_are_cut():
    body = payment_payload(
        date="2026-11-21", ledger_id=10, relation_id=7, sales_number="DEMO-XKBKNABJK", amount=Decimal("12.10"),
        description="iDEAL - 1041 - " + "t" * 80, transaction_id="tr_" + "x" * 70,
    )  # fmt: skip
    assert body["entryNumber"] == ("tr_" + "x" * 70)[:50] and len(body["description"]) == 50
    assert too_long("CreateMutation", body) == []


def test_a_product_code_longer_than_an_invoice_line_allows_is_left_off_not_cut():
    sale = plan()
    rows = (dataclasses.replace(sale.rows[0], sku="S" * 51), BookingRow("8000", "HOOG_VERK_21", Decimal("0.00"), Decimal("0.00"), "Gift", sku="S" * 50))
    items = invoice_payload(dataclasses.replace(sale, rows=rows), LEDGERS, "1300", 7, template_id=3, with_mutation=False)["items"]
    assert "code" not in items[0] and items[1]["code"] == "S" * 50


# ---- what is never cut: refused with the field named ----------------------------------------------


@pytest.mark.parametrize(
    ("debtor_field", "value", "named", "code"),
    [
        ("postcode", "1" * 51, "postal code (postalCode) has 51 characters, at most 50", "REL_012 Postal code is too long."),
        ("email", "a" * 140 + "@example.nl", "e-mail address (emailAddress) has 151 characters, at most 150", "REL_022 Email is too long."),
        ("vat_number", "NL" * 26, "VAT number (vatNumber) has 52 characters, at most 50", "REL_035 VAT number is too long."),
        ("phone", "0" * 51, "phone number (phoneNumber) has 51 characters, at most 50", "REL_019 Phone is too long."),
        ("country", "C" * 51, "country (country) has 51 characters, at most 50", "REL_014 Country is too long."),
    ],
)
def test_what_identifies_a_debtor_is_refused_when_too_long(debtor_field, value, named, code):
    debtor = dataclasses.replace(plan().debtor, **{debtor_field: value})
    reason = length_refusal("CreateRelation", relation_payload(debtor, "JanJansen"), "The debtor of order XKBKNABJK")
    assert reason is not None and reason.startswith("The debtor of order XKBKNABJK: its ")
    assert named in reason and code in reason and "then process the order again" in reason


def test_a_relation_code_longer_than_15_is_refused():
    assert length_refusal("CreateRelation", relation_payload(plan().debtor, "JanJansen123456"), "The debtor") is None  # 15 fits
    reason = length_refusal("CreateRelation", relation_payload(plan().debtor, "JanJansen1234567"), "The debtor")
    assert reason is not None and "REL_006 Code is too long." in reason


@pytest.mark.parametrize(
    ("change", "model", "named"),
    [
        ({"sales_number": "X" * 51}, "CreateMutation", "sales number (invoiceNumber) has 51 characters, at most 50 are allowed (e-Boekhouden: MUT_018 Invoice number is too long.)"),
        ({"sales_number": "X" * 50 + "1"}, "CreateInvoice", "sales number (invoiceNumber) has 51 characters, at most 50 are allowed (e-Boekhouden: FACT_007 Invoice number is too long.)"),
        ({"sales_number": "X" * 51}, "CreateInvoice", "reference (reference) has 51 characters, at most 50 are allowed (e-Boekhouden: FACT_014 Payment reference is too long.)"),
        ({"payment_reference": "P" * 51}, "CreateInvoice", "payment reference (mutation.paymentReference) has 51 characters, at most 50"),
    ],
)
def test_numbers_and_references_are_never_cut(change, model, named):
    sale = dataclasses.replace(plan(), **change)
    if model == "CreateMutation":
        body = mutation_payload(sale, LEDGERS, "1300", relation_id=7)
    else:
        body = invoice_payload(sale, LEDGERS, "1300", 7, template_id=3, with_mutation=True)
    reason = length_refusal(model, body, f"Order {sale.reference}")
    assert reason is not None and named in reason and reason.startswith("Order XKBKNABJK: its ")


def test_everything_fits_for_an_ordinary_order():
    sale = plan()
    assert length_refusal("CreateMutation", mutation_payload(sale, LEDGERS, "1300", 7), "Order") is None
    assert length_refusal("CreateInvoice", invoice_payload(sale, LEDGERS, "1300", 7, 3, True), "Order") is None
    assert length_refusal("CreateRelation", relation_payload(sale.debtor, "JanJansen"), "Debtor") is None


# ---- through the booking code: in Errors, named, and nothing sent ------------------------------------


class LengthBooks(Books):
    """The in-memory e-Boekhouden with what a sale needs besides debtors."""

    def ledgers(self):
        return {code: {"id": ledger_id, "code": code} for code, ledger_id in LEDGERS.items()}

    def ledger_ids(self, codes):
        return {code: LEDGERS[code] for code in codes}

    def create_mutation(self, payload):
        self.requests_made["POST v1/mutation"] += 1
        return {"id": self.add_sale(payload["invoiceNumber"], payload["relationId"], payload["date"])}


@pytest.fixture
def store(tmp_path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def stored(store: StateStore, sale) -> int:
    store.record_seen(sale.tenant, [{"order_id": sale.order_id, "reference": sale.reference, "shop_status": 2, "date_upd": None, "order_date": sale.date}])
    data = sale.to_dict()
    data["total_incl"], data["total_excl"] = str(sale.total_incl), str(sale.total_excl)
    store.save_plans(sale.tenant, [data])
    return sale.order_id


@pytest.mark.parametrize(
    ("change", "named", "sent"),
    [
        ({"postcode": "1" * 60}, "The debtor Jan Jansen (jan.jansen@example.nl): its postal code (postalCode) has 60 characters", 0),
        ({"email": "j" * 150 + "@example.nl"}, "its e-mail address (emailAddress) has 161 characters, at most 150", 0),
    ],
)
def test_an_order_whose_debtor_field_is_too_long_lands_in_errors_with_the_field_named(store, change, named, sent):
    from prestashop_eboekhouden.pipeline.booking import TOO_LONG, SaleBooker

    sale = plan()
    sale = dataclasses.replace(sale, debtor=dataclasses.replace(sale.debtor, **change))
    order_id = stored(store, sale)
    books = LengthBooks()
    outcome = SaleBooker(tenant(), books, store, "owner", sleep=lambda s: None).book([order_id])
    row = store.get_orders(sale.tenant, [order_id])[order_id]
    assert (outcome.refused, row["state"], row["error_code"]) == (1, ERROR, TOO_LONG)
    assert named in row["reason"] and "Shorten it in the shop" in row["reason"]
    assert books.requests_made["POST v1/relation"] == books.requests_made["POST v1/mutation"] == sent


def test_an_order_with_a_long_payment_method_is_booked_with_its_description_cut(store):
    from prestashop_eboekhouden.pipeline.booking import SaleBooker

    sale = plan(payment="Achteraf betalen met Klarna in drie termijnen zonder rente")
    order_id = stored(store, sale)
    books = LengthBooks()
    SaleBooker(tenant(), books, store, "owner", sleep=lambda s: None).book([order_id])
    assert store.get_orders(sale.tenant, [order_id])[order_id]["state"] == BOOKED
    assert books.requests_made["POST v1/mutation"] == 1
