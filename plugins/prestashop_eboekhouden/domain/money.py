"""Money as Decimal: parsed from the shop's strings, rounded half-up to the cent once, at the edge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from prestashop_eboekhouden.domain.errors import MalformedOrder

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def parse_decimal(value: object, field: str) -> Decimal:
    """A shop number ("12.950000", 12, "0.21") as an exact Decimal; MalformedOrder names the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise MalformedOrder(field, "is missing")
    if isinstance(value, bool) or isinstance(value, float):
        raise MalformedOrder(field, f"is {value!r}, not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise MalformedOrder(field, f"is {str(value)[:40]!r}, not a number") from None
    if not number.is_finite():
        raise MalformedOrder(field, f"is {value!r}, not a number")
    return number


def to_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent (the one rounding an amount ever gets)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: object, field: str) -> Decimal:
    """A shop amount rounded to the cent."""
    return to_cents(parse_decimal(value, field))


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split a cent amount over weights so the parts sum to it exactly (largest remainder, ties to the first)."""
    if not weights:
        raise ValueError("nothing to allocate over")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    sign = -1 if total < 0 else 1
    cents = int((abs(total) / CENT).to_integral_value())
    raw = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(r.to_integral_value(rounding=ROUND_DOWN)) for r in raw]
    left = cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * Decimal(n) * CENT for n in floors]


class Amounts(Protocol):
    """Anything with an amount incl and excl VAT (a line, a booking row)."""

    @property
    def amount_incl(self) -> Decimal: ...

    @property
    def amount_excl(self) -> Decimal: ...


def sum_incl(items: Iterable[Amounts]) -> Decimal:
    """The items' amounts incl VAT, added up."""
    return sum((item.amount_incl for item in items), ZERO)


def sum_excl(items: Iterable[Amounts]) -> Decimal:
    """The items' amounts excl VAT, added up."""
    return sum((item.amount_excl for item in items), ZERO)


def pct(rate: Decimal) -> str:
    """A VAT rate for display: 21, 5.5, 0."""
    text = format(rate.normalize(), "f")
    return "0" if text == "-0" else text


def fmt(amount: Decimal) -> str:
    """An amount as a bookkeeper reads it: two decimals."""
    return f"{to_cents(amount):.2f}"
