"""Payments (manual sections 2 and 7): which shop payments are booked against a sale's outstanding item."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.domain.errors import MalformedOrder
from prestashop_eboekhouden.domain.money import ZERO, fmt, parse_amount
from prestashop_eboekhouden.domain.normalize import parse_shop_datetime


@dataclass(frozen=True)
class ShopPayment:
    """A PrestaShop order_payment."""

    payment_id: int
    order_reference: str
    amount: Decimal
    method: str
    transaction_id: str
    date: dt.datetime


def normalize_payment(raw: Mapping[str, Any]) -> ShopPayment:
    """An order_payments row as a ShopPayment; MalformedOrder names the bad field."""
    where = f"order_payments[{raw.get('id', '?')}]"
    try:
        payment_id = int(str(raw.get("id")))
    except ValueError:
        raise MalformedOrder(f"{where}.id", "is not a number") from None
    amount = raw.get("amount")
    if amount is None:
        raise MalformedOrder(f"{where}.amount", "is missing")
    date = parse_shop_datetime(raw.get("date_add"), f"{where}.date_add", required=True)
    assert date is not None
    return ShopPayment(
        payment_id=payment_id,
        order_reference=str(raw.get("order_reference") or ""),
        amount=parse_amount(amount, f"{where}.amount"),
        method=str(raw.get("payment_method") or "").strip()[:100],
        transaction_id=str(raw.get("transaction_id") or "").strip()[:100],
        date=date,
    )


@dataclass
class PaymentDecision:
    """What to do with an order's unbooked payments."""

    book: list[int] = field(default_factory=list)
    refuse: dict[int, str] = field(default_factory=dict)


def decide(sales_number: str, payments: Sequence[tuple[int, Decimal]], outstanding: Decimal | None, without_outstanding_item: bool) -> PaymentDecision:
    """Book when the payments add up to the outstanding amount to the cent; else refuse them all with the reason."""
    decision = PaymentDecision()
    ids = [pid for pid, _ in payments]
    if outstanding is None:
        if without_outstanding_item:
            decision.book = ids
        else:
            reason = f"No outstanding item for {sales_number} in e-Boekhouden (the sale is not there, or already paid)"
            decision.refuse = dict.fromkeys(ids, reason)
        return decision
    total = sum((amount for _, amount in payments), ZERO)
    if total == outstanding:
        decision.book = ids
        return decision
    label = "Payment" if len(payments) == 1 else f"Payments ({len(payments)}) total"
    reason = f"{label} {fmt(total)} ≠ outstanding {fmt(outstanding)} for {sales_number}: nothing booked"
    decision.refuse = dict.fromkeys(ids, reason)
    return decision


def payment_description(method: str, mutation_number: object, transaction_id: str) -> str:
    """'<payment method> - <mutation number> - <transaction id>' (manual's payment mutation)."""
    return " - ".join(str(part) for part in (method, mutation_number, transaction_id) if part not in (None, ""))
