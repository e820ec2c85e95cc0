"""e-Boekhouden REST request bodies (manual section 7), built from plans; amounts stay Decimal.

Sales are booked with ``inExVat: IN``: e-Boekhouden computes each row's VAT itself from the amount
and the VAT code, and only amounts *including* VAT make its total equal the shop's total to the
cent (3.26 excl at 21% would come back as 3.94, not the 3.95 the customer paid).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec

from prestashop_eboekhouden.contract.eboekhouden import MutationType
from prestashop_eboekhouden.domain.booking import BookingPlan, BookingRow
from prestashop_eboekhouden.domain.money import CENT, to_cents
from prestashop_eboekhouden.domain.relations import Debtor

SALE = int(MutationType.INVOICE_SENT)
PAYMENT_RECEIVED = int(MutationType.PAYMENT_RECEIVED)
NO_VAT = "GEEN"
_ENCODER = msgspec.json.Encoder(decimal_format="number")
# e-Boekhouden's sales VAT codes and their rates (the legacy SOAP API wants the VAT amount from the client).
VAT_CODE_RATES = {
    "HOOG_VERK_21": Decimal(21), "LAAG_VERK_9": Decimal(9), "VERL_VERK": Decimal(0), "VERL_VERK_L9": Decimal(0),
    "BI_EU_VERK": Decimal(0), "BI_EU_VERK_D": Decimal(0), "BU_EU_VERK": Decimal(0), "AFST_VERK": Decimal(0), NO_VAT: Decimal(0),
}  # fmt: skip


def vat_split(amount: Decimal, vat_code: str, in_ex: str = "IN") -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(excl, VAT, incl, rate) of a row as e-Boekhouden computes them from an amount and a VAT code;
    KeyError for a code this table does not know."""
    rate = VAT_CODE_RATES[vat_code]
    if in_ex == "IN":
        vat = to_cents(amount * rate / (100 + rate))
        return amount - vat, vat, amount, rate
    vat = to_cents(amount * rate / 100)
    return amount, vat, amount + vat, rate


def to_json(payload: object) -> bytes:
    """JSON with Decimal amounts written as exact numbers (never through float)."""
    return _ENCODER.encode(payload)


def relation_payload(debtor: Debtor, code: str) -> dict:
    """A new debtor (POST /v1/relation)."""
    payload = {
        "type": debtor.type,
        "code": code,
        "name": debtor.name[:150],
        "contact": debtor.contact[:150],
        "address": debtor.address[:150],
        "postalCode": debtor.postcode,
        "city": debtor.city[:50],
        "country": debtor.country,
        "phoneNumber": debtor.phone,
        "emailAddress": debtor.email,
        "vatNumber": debtor.vat_number,
    }
    return {key: value for key, value in payload.items() if value not in ("", None)}


def _ledger(ledger_ids: Mapping[str, int], code: str) -> int:
    return ledger_ids[code]


def mutation_payload(plan: BookingPlan, ledger_ids: Mapping[str, int], debtor_ledger: str, relation_id: int) -> dict:
    """A sale as a type 2 mutation (invoice sent), rows incl VAT."""
    return {
        "type": SALE,
        "date": plan.date.isoformat(),
        "ledgerId": _ledger(ledger_ids, debtor_ledger),
        "relationId": relation_id,
        "invoiceNumber": plan.sales_number,
        "description": plan.description[:200],
        "termOfPayment": plan.term_days,
        "paymentReference": plan.payment_reference or plan.sales_number,
        "inExVat": "IN",
        "rows": [
            {
                "ledgerId": _ledger(ledger_ids, row.ledger),
                "vatCode": row.vat_code,
                "amount": row.amount_incl,
                "description": row.description[:200],
            }
            for row in plan.rows
        ],
    }


def _item(row: BookingRow, ledger_ids: Mapping[str, int]) -> dict:
    """An invoice line; quantity × unit price incl VAT must equal the row exactly, else one line of the total."""
    quantity = row.quantity if row.quantity > 0 else Decimal(1)
    unit = row.amount_incl / quantity
    description = row.description
    if unit != unit.quantize(CENT):
        unit, description, quantity = row.amount_incl, f"{row.quantity.normalize():f} x {row.description}", Decimal(1)
    item = {
        "quantity": quantity,
        "description": description[:200],
        "pricePerUnit": unit.quantize(CENT),
        "vatCode": row.vat_code,
        "ledgerId": _ledger(ledger_ids, row.ledger),
    }
    if row.sku:
        item["code"] = row.sku
    return item


def can_be_invoice_number(sales_number: str) -> bool:
    """e-Boekhouden invoice numbers must end in a digit."""
    return bool(sales_number) and sales_number[-1].isdigit()


def invoice_payload(
    plan: BookingPlan,
    ledger_ids: Mapping[str, int],
    debtor_ledger: str,
    relation_id: int,
    template_id: int,
    with_mutation: bool,
) -> dict:
    """A sale as an invoice (POST /v1/invoice), lines incl VAT; optionally also booked as a mutation."""
    payload: dict = {
        "relationId": relation_id,
        "date": plan.date.isoformat(),
        "termOfPayment": plan.term_days,
        "templateId": template_id,
        "inExVat": "IN",
        "reference": plan.sales_number,
        "text": plan.description[:200],
        "items": [_item(row, ledger_ids) for row in plan.rows],
    }
    if can_be_invoice_number(plan.sales_number):
        payload["invoiceNumber"] = plan.sales_number
    if with_mutation:
        payload["mutation"] = {
            "ledgerId": _ledger(ledger_ids, debtor_ledger),
            "description": plan.description[:200],
            "paymentReference": plan.payment_reference or plan.sales_number,
        }
    return payload


def payment_payload(
    *,
    date: str,
    ledger_id: int,
    relation_id: int,
    sales_number: str,
    amount: Decimal,
    description: str,
    transaction_id: str,
) -> dict:
    """A payment received against a sale (type 3), one row without VAT."""
    payload = {
        "type": PAYMENT_RECEIVED,
        "date": date,
        "ledgerId": ledger_id,
        "relationId": relation_id,
        "invoiceNumber": sales_number,
        "description": description[:200],
        "inExVat": "IN",
        # the row names the relation it pays too (MUT_112 "Relation is missing" otherwise)
        "rows": [{"amount": amount, "vatCode": NO_VAT, "invoiceNumber": sales_number, "relationId": relation_id, "description": description[:200]}],
    }
    if transaction_id:
        payload["entryNumber"] = transaction_id[:50]
    return payload
