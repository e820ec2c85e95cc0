"""e-Boekhouden REST request bodies (manual section 7), built from plans; amounts stay Decimal.

Sales are booked with ``inExVat: IN``: e-Boekhouden computes each row's VAT itself from the amount
and the VAT code, and only amounts *including* VAT make its total equal the shop's total to the
cent (3.26 excl at 21% would come back as 3.94, not the 3.95 the customer paid).

Text fields stay within the maximum lengths of the official description (``contract.MAX_LENGTH``). Text that
only describes is cut to fit: descriptions (a mutation's to 50 characters, an invoice's booking to 200), a
debtor's name (100), contact (50), address (150) and city (50), a payment's entry number (the transaction id,
50); an invoice line's product code longer than 50 is left off (its description names the product). Text that
identifies is never cut — the sales number, references, the e-mail address, VAT number, postal code, phone,
country and relation code: :func:`length_refusal` names the field, and the order goes to Errors. Fields the
description gives no maximum (a row's or an invoice line's description) are kept to 200 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from prestashop_eboekhouden.contract.eboekhouden import ERROR_CODES, MAX_LENGTH, MutationType, too_long
from prestashop_eboekhouden.domain.booking import NO_VAT, BookingPlan, BookingRow
from prestashop_eboekhouden.domain.money import CENT, to_cents
from prestashop_eboekhouden.domain.relations import Debtor

SALE = int(MutationType.INVOICE_SENT)
PAYMENT_RECEIVED = int(MutationType.PAYMENT_RECEIVED)
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


ROW_TEXT = 200  # a mutation row's or an invoice line's description: no maximum in the description, kept short
# What a too-long field is called in a refusal, for a bookkeeper.
FIELD_NAMES = {
    "invoiceNumber": "sales number", "reference": "reference", "paymentReference": "payment reference", "entryNumber": "entry number",
    "description": "description", "text": "invoice text", "code": "code", "name": "name", "contact": "contact", "address": "address",
    "postalCode": "postal code", "city": "city", "country": "country", "phoneNumber": "phone number", "emailAddress": "e-mail address",
    "vatNumber": "VAT number",
}  # fmt: skip


def _fit(text: str, model: str, field: str) -> str:
    """Descriptive text cut to the field's documented maximum."""
    return text[: MAX_LENGTH[model][field][0]]


def length_refusal(model: str, payload: dict[str, Any], subject: str) -> str | None:
    """Why e-Boekhouden would refuse this request body for a field that is too long (in a bookkeeper's words,
    naming the subject — "Order XKBKNABJK", "the debtor of order ..." — and the field), or None when all fit."""
    problems = too_long(model, payload)
    if not problems:
        return None
    parts = []
    for long in problems:
        field = long.path.rsplit(".", 1)[-1]
        code = f" (e-Boekhouden: {long.code} {ERROR_CODES[long.code]})" if long.code else ""
        parts.append(f"its {FIELD_NAMES.get(field, field)} ({long.path}) has {long.length} characters, at most {long.maximum} are allowed{code}")
    return f"{subject}: {'; '.join(parts)}. Shorten it in the shop (or the tenant file), then process the order again"


def to_json(payload: object) -> bytes:
    """JSON with Decimal amounts written as exact numbers (never through float)."""
    return _ENCODER.encode(payload)


def relation_payload(debtor: Debtor, code: str) -> dict[str, Any]:
    """A new debtor (POST /v1/relation)."""
    payload = {
        "type": debtor.type,
        "code": code,
        "name": _fit(debtor.name, "CreateRelation", "name"),
        "contact": _fit(debtor.contact, "CreateRelation", "contact"),
        "address": _fit(debtor.address, "CreateRelation", "address"),
        "postalCode": debtor.postcode,
        "city": _fit(debtor.city, "CreateRelation", "city"),
        "country": debtor.country,
        "phoneNumber": debtor.phone,
        "emailAddress": debtor.email,
        "vatNumber": debtor.vat_number,
    }
    return {key: value for key, value in payload.items() if value not in ("", None)}


def _ledger(ledger_ids: Mapping[str, int], code: str) -> int:
    return ledger_ids[code]


def mutation_payload(plan: BookingPlan, ledger_ids: Mapping[str, int], debtor_ledger: str, relation_id: int) -> dict[str, Any]:
    """A sale as a type 2 mutation (invoice sent), rows incl VAT."""
    return {
        "type": SALE,
        "date": plan.date.isoformat(),
        "ledgerId": _ledger(ledger_ids, debtor_ledger),
        "relationId": relation_id,
        "invoiceNumber": plan.sales_number,
        "description": _fit(plan.description, "CreateMutation", "description"),
        "termOfPayment": plan.term_days,
        "paymentReference": plan.payment_reference or plan.sales_number,
        "inExVat": "IN",
        "rows": [
            {
                "ledgerId": _ledger(ledger_ids, row.ledger),
                "vatCode": row.vat_code,
                "amount": row.amount_incl,
                "description": row.description[:ROW_TEXT],
            }
            for row in plan.rows
        ],
    }


def _item(row: BookingRow, ledger_ids: Mapping[str, int]) -> dict[str, Any]:
    """An invoice line; quantity × unit price incl VAT must equal the row exactly, else one line of the total."""
    quantity = row.quantity if row.quantity > 0 else Decimal(1)
    unit = row.amount_incl / quantity
    description = row.description
    if unit != unit.quantize(CENT):
        unit, description, quantity = row.amount_incl, f"{row.quantity.normalize():f} x {row.description}", Decimal(1)
    item = {
        "quantity": quantity,
        "description": description[:ROW_TEXT],
        "pricePerUnit": unit.quantize(CENT),
        "vatCode": row.vat_code,
        "ledgerId": _ledger(ledger_ids, row.ledger),
    }
    if row.sku and len(row.sku) <= MAX_LENGTH["CreateInvoiceItem"]["code"][0]:  # a longer SKU is left off, never cut
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
) -> dict[str, Any]:
    """A sale as an invoice (POST /v1/invoice), lines incl VAT; optionally also booked as a mutation."""
    payload: dict[str, Any] = {
        "relationId": relation_id,
        "date": plan.date.isoformat(),
        "termOfPayment": plan.term_days,
        "templateId": template_id,
        "inExVat": "IN",
        "reference": plan.sales_number,
        "text": plan.description[:ROW_TEXT],
        "items": [_item(row, ledger_ids) for row in plan.rows],
    }
    if can_be_invoice_number(plan.sales_number):
        payload["invoiceNumber"] = plan.sales_number
    if with_mutation:
        payload["mutation"] = {
            "ledgerId": _ledger(ledger_ids, debtor_ledger),
            "description": _fit(plan.description, "CreateInvoiceMutation", "description"),
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
) -> dict[str, Any]:
    """A payment received against a sale (type 3), one row without VAT."""
    payload = {
        "type": PAYMENT_RECEIVED,
        "date": date,
        "ledgerId": ledger_id,
        "relationId": relation_id,
        "invoiceNumber": sales_number,
        "description": _fit(description, "CreateMutation", "description"),
        "inExVat": "IN",
        # the row names the relation it pays too (MUT_112 "Relation is missing" otherwise)
        "rows": [{"amount": amount, "vatCode": NO_VAT, "invoiceNumber": sales_number, "relationId": relation_id, "description": description[:ROW_TEXT]}],
    }
    if transaction_id:
        payload["entryNumber"] = _fit(transaction_id, "CreateMutation", "entryNumber")
    return payload
