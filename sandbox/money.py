"""Decimal money for both emulators: strict parsing, half-up rounding, PrestaShop's string formats."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
MILLI = Decimal("0.001")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def to_decimal(value: object) -> Decimal:
    """An exact Decimal from a Decimal, int or numeric string; floats and other types are refused."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"{value!r} is not an exact amount (use a string, int or Decimal)")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, str)):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise TypeError(f"{value!r} is not a number")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def round_to(amount: Decimal, step: Decimal) -> Decimal:
    """Round half-up to a step such as CENT or MICRO."""
    return amount.quantize(step, rounding=ROUND_HALF_UP)


def cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent."""
    return round_to(amount, CENT)


def ps_amount(amount: Decimal) -> str:
    """PrestaShop's amount string with six decimals: '42340.000000'."""
    return f"{round_to(amount, MICRO):f}"


def ps_rate(rate: Decimal) -> str:
    """PrestaShop's rate string with three decimals: '21.000'."""
    return f"{round_to(rate, MILLI):f}"


def excl_from_incl(incl: Decimal, rate: Decimal, step: Decimal) -> Decimal:
    """The amount without VAT for an amount with VAT at a rate (%), rounded to a step."""
    return round_to(incl * HUNDRED / (HUNDRED + rate), step)


def incl_from_excl(excl: Decimal, rate: Decimal, step: Decimal) -> Decimal:
    """The amount with VAT for an amount without VAT at a rate (%), rounded to a step."""
    return round_to(excl * (HUNDRED + rate) / HUNDRED, step)
