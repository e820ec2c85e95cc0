"""The answers to a create, read as the official models have them: CreatedInvoice {id, invoiceNumber, inExVat}
and CreatedMutation {id}, every field optional."""

from __future__ import annotations

import pytest

from prestashop_eboekhouden.pipeline.booking import SaleBooker
from prestashop_eboekhouden.store import BOOKED, StateStore

from .shop_json import tenant
from .test_field_lengths import LengthBooks, plan, stored


@pytest.fixture
def store(tmp_path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


class InvoiceBooks(LengthBooks):
    def __init__(self, answer: dict) -> None:
        super().__init__()
        self.answer = answer

    def invoice_template_id(self, name: str) -> int:
        return 3

    def create_invoice(self, payload: dict) -> dict:
        self.requests_made["POST v1/invoice"] += 1
        self.sent = payload
        return dict(self.answer)


INVOICES = tenant(eboekhouden={"book_as": "invoice", "invoice_template": "Webshop"})


@pytest.mark.parametrize(
    ("answer", "eb_id", "number", "warned"),
    [
        ({"id": 41, "invoiceNumber": "XKBKNABJK", "inExVat": "IN"}, 41, None, False),
        ({"id": 42, "invoiceNumber": "1043", "inExVat": "IN"}, 42, "1043", False),  # the number e-Boekhouden gave it
        ({"id": 43}, 43, None, False),  # invoiceNumber and inExVat are optional
        ({}, None, None, False),  # so is the id: booked, without one
        ({"id": 44, "inExVat": "EX"}, 44, None, True),  # read excl. VAT though sent incl.: booked, with a warning
    ],
)
def test_a_created_invoice_is_recorded_as_its_answer_says(store, answer, eb_id, number, warned):
    sale = plan()
    sale = type(sale)(**{**sale.__dict__, "tenant": INVOICES.tenant, "book_as": "invoice"})
    order_id = stored(store, sale)
    books = InvoiceBooks(answer)
    SaleBooker(INVOICES, books, store, "owner", sleep=lambda s: None).book([order_id])
    row = store.get_orders(sale.tenant, [order_id])[order_id]
    assert books.sent["inExVat"] == "IN"
    assert (row["state"], row["eb_id"], row["eb_number"]) == (BOOKED, eb_id, number or sale.sales_number)  # None: the sales number
    if warned:
        assert "read the prices as excl. VAT (inExVat EX), they were sent incl. VAT" in row["reason"]
    else:
        assert row["reason"] is None
