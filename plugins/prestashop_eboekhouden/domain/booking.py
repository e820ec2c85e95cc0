"""The booking plan: what one order becomes in e-Boekhouden, rows summing exactly to the order total."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.config import VAT_OSS, TenantConfig, VatMapping, rate_key
from prestashop_eboekhouden.contract.eboekhouden import VatCode
from prestashop_eboekhouden.domain.classify import Regime, classify
from prestashop_eboekhouden.domain.errors import ConfigurationProblem, OrderProblem
from prestashop_eboekhouden.domain.model import Line, Order, ShopContext
from prestashop_eboekhouden.domain.money import ZERO, pct, sum_excl, sum_incl
from prestashop_eboekhouden.domain.prechecks import precheck, rounding_difference
from prestashop_eboekhouden.domain.relations import Debtor, debtor_for

NO_VAT = VatCode.GEEN.value  # rows that carry no e-Boekhouden VAT (OSS net and VAT rows)
MAX_SALES_NUMBER = 50
ROUNDING = "rounding"  # the kind of the row that books PrestaShop's rounding difference
ROUNDING_TEXT = "Rounding difference (PrestaShop)"
# A sales number is made of these characters only; any other run of characters (spaces, markup, quotes, #, &, …) becomes
# one "-", accents lose their mark (é → e). Numbers already sent to e-Boekhouden keep their old form (see save_plans).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class BookingRow:
    """One row of the sale: ledger code, VAT code and the amounts (incl is what is booked)."""

    ledger: str
    vat_code: str
    amount_incl: Decimal
    amount_excl: Decimal
    description: str
    quantity: Decimal = Decimal(1)
    sku: str = ""
    vat_rate: Decimal | None = None  # the shop's VAT % of the line (the reconciliation's OSS summary per rate)
    kind: str = ""  # "rounding" for the row that books PrestaShop's rounding difference; "" for every other row

    @property
    def vat_amount(self) -> Decimal:
        """VAT in this row."""
        return self.amount_incl - self.amount_excl


@dataclass(frozen=True)
class BookingPlan:
    """Everything needed to book one order, as pure data (stored between validate and book)."""

    tenant: str
    order_id: int
    reference: str
    sales_number: str
    date: dt.date
    description: str
    payment_method: str
    term_days: int
    regime: Regime
    book_as: str
    debtor: Debtor
    fixed_debtor: str | None
    rows: tuple[BookingRow, ...]
    invoice_number: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    payment_reference: str = ""  # manual: the order number, or the invoice number on request
    kind: str = "sale"  # or "credit": a credit slip booked as a credit sale (negative rows)
    slip_id: int | None = None  # the credit slip's id (credits only)
    delivery_country: str = ""  # ISO code (the reconciliation's OSS summary per member state)

    @property
    def total_incl(self) -> Decimal:
        """The sale incl VAT: the sum of the rows."""
        return sum_incl(self.rows)

    @property
    def total_excl(self) -> Decimal:
        """The sale excl VAT."""
        return sum_excl(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data (amounts as strings, never floats)."""
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["regime"] = self.regime.value
        data["rows"] = [{k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(row).items()} for row in self.rows]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BookingPlan:
        """The plan back from stored data."""
        rows = tuple(
            BookingRow(
                ledger=r["ledger"],
                vat_code=r["vat_code"],
                amount_incl=Decimal(r["amount_incl"]),
                amount_excl=Decimal(r["amount_excl"]),
                description=r["description"],
                quantity=Decimal(r["quantity"]),
                sku=r.get("sku", ""),
                vat_rate=Decimal(r["vat_rate"]) if r.get("vat_rate") is not None else None,
                kind=r.get("kind", ""),
            )
            for r in data["rows"]
        )
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(
            **{
                **{k: v for k, v in data.items() if k in fields},
                "date": dt.date.fromisoformat(data["date"]),
                "regime": Regime(data["regime"]),
                "debtor": Debtor(**data["debtor"]),
                "rows": rows,
                "notes": tuple(data.get("notes") or ()),
            }
        )


def safe_sales_number(text: str) -> str:
    """A sales number of letters, digits and . _ - only: accents lose their mark, any other run of characters becomes
    one "-" (none at either end). "<b>XKBK</b>" → "b-XKBK-b", "Café 12" → "Cafe-12", "XKBKNABJK" stays as it is."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return _UNSAFE.sub("-", plain).strip("-")


@dataclass(frozen=True)
class RoundingRow:
    """Where PrestaShop's rounding difference is booked (the tenant's rounding section, as the domain takes it)."""

    tolerance: Decimal
    ledger: str | None
    vat_code: str


def rounding_row(order: Order, rounding: RoundingRow) -> BookingRow | None:
    """The row that books the difference between the shop's total and its lines, when it is within the tolerance (no VAT:
    the rounding is the shop's, on its total); None when they agree to the cent."""
    difference = rounding_difference(order)
    if difference == 0 or abs(difference) > rounding.tolerance or not rounding.ledger:
        return None
    return BookingRow(rounding.ledger, rounding.vat_code, difference, difference, ROUNDING_TEXT, kind=ROUNDING)


def number_of(prefix: str, choice: str, reference: str, order_id: int, invoice_number: object = None) -> str | None:
    """The tenant's sales number rule (reference, invoice number without prefix, or id) + prefix, made of safe
    characters only (``safe_sales_number``); None by invoice number when the order has none. Also what the
    reconciliation expects of a sale a bookkeeper booked by hand under the integration's number."""
    if choice == "invoice_number":
        return safe_sales_number(f"{prefix}{invoice_number}") if invoice_number else None
    return safe_sales_number(f"{prefix}{order_id if choice == 'id' else reference}")


def base_sales_number(order: Order, config: TenantConfig) -> str:
    """The sale's number per the tenant's choice (``number_of``)."""
    sales_number = number_of(config.eboekhouden.sales_number_prefix, config.eboekhouden.sales_number, order.reference, order.id, order.invoice_number)
    if sales_number is None:
        raise OrderProblem("Order has no invoice number yet, and sales_number is set to invoice_number")
    if not sales_number:
        raise OrderProblem(f"Order reference {order.reference[:40]!r} has no letter or digit to make a sales number of: set eboekhouden.sales_number to id")
    if len(sales_number) > MAX_SALES_NUMBER:
        raise ConfigurationProblem(f"Sales number {sales_number} is longer than {MAX_SALES_NUMBER} characters")
    return sales_number


def payment_reference(order: Order, config: TenantConfig) -> str:
    """The sale's payment reference (manual section 7): the order number, or the invoice number when the
    tenant numbers its sales by invoice number; without the tenant's prefix (it is what the customer quotes)."""
    if config.eboekhouden.sales_number == "invoice_number" and order.invoice_number:
        return str(order.invoice_number)
    return order.reference


def vat_mapping(line: Line, number: int, order: Order, regime: Regime, config: TenantConfig, shop_country: str) -> VatMapping:
    """The tenant's VAT code and ledgers for one line, or a ConfigurationProblem naming rate and country."""
    vat = config.vat
    if regime is Regime.ICP:
        if vat.icp is None:
            raise ConfigurationProblem("ICP order, but the tenant file has no vat.icp mapping")
        return vat.icp
    if regime is Regime.INTERNATIONAL:
        if vat.international is None:
            raise ConfigurationProblem("International order, but the tenant file has no vat.international mapping")
        return vat.international
    key = rate_key(line.vat_rate)
    if regime is Regime.OSS:
        mapping = vat.oss.get(order.delivery_country, {}).get(key) or vat.rates.get(key)
        where = f" (delivery country {order.delivery_country})"
    else:
        mapping = vat.rates.get(key)
        abroad = order.delivery_country != shop_country
        where = f" (delivery country {order.delivery_country})" if abroad else ""
    if mapping is None:
        raise ConfigurationProblem(f"No VAT mapping for {pct(line.vat_rate)}%{where} on line {number} '{line.description[:40]}'")
    return mapping


def booking_rows(line: Line, mapping: VatMapping) -> list[BookingRow]:
    """One row per line; OSS lines as two rows: net to revenue and VAT to the VAT ledger, both without e-Boekhouden VAT."""
    if mapping.vat_code != VAT_OSS:
        return [BookingRow(mapping.revenue_ledger, mapping.vat_code, line.amount_incl, line.amount_excl, line.description, line.quantity, line.sku, line.vat_rate)]
    assert mapping.vat_ledger
    vat_text = f"VAT {pct(line.vat_rate)}% {line.description}"
    rows = [BookingRow(mapping.revenue_ledger, NO_VAT, line.amount_excl, line.amount_excl, line.description, line.quantity, line.sku, line.vat_rate)]
    if line.vat_amount != 0:  # no 0.00 rows: a line whose VAT rounds to nothing has no VAT row
        rows.append(BookingRow(mapping.vat_ledger, NO_VAT, line.vat_amount, ZERO, vat_text[:255], vat_rate=line.vat_rate))  # all of it is (foreign) VAT
    return rows


def fixed_debtor_for(order: Order, regime: Regime, config: TenantConfig) -> str | None:
    """The fixed relation code for the payment method: invoices only, never for ICP."""
    if config.eboekhouden.book_as != "invoice" or regime is Regime.ICP or not config.fixed_debtors:
        return None
    return config.fixed_debtors.get(order.payment_method) or config.fixed_debtors.get(order.module)


def build_plan(order: Order, config: TenantConfig, ctx: ShopContext) -> BookingPlan:
    """Prechecks, classification, VAT mapping and rows; raises OrderProblem with every reason found."""
    shop_country = (config.prestashop.shop_country or ctx.shop_country).upper()
    regime = classify(order, shop_country, frozenset(config.vat.oss))
    rounding = RoundingRow(config.rounding.tolerance, config.rounding.ledger, config.rounding.vat_code)
    problems = precheck(order, regime, ctx, rounding.tolerance if rounding.ledger else Decimal(0))
    rows: list[BookingRow] = []
    config_problems = []
    for number, line in enumerate(order.lines, start=1):
        try:
            rows += booking_rows(line, vat_mapping(line, number, order, regime, config, shop_country))
        except ConfigurationProblem as exc:
            config_problems.append(exc.reason)
    problems += list(dict.fromkeys(config_problems))
    if (row := rounding_row(order, rounding)) is not None:
        rows.append(row)
    try:
        sales_number = base_sales_number(order, config)
        debtor = debtor_for(order)
    except OrderProblem as exc:
        problems.append(exc.reason)
    if problems:
        code = "CONFIG" if problems == config_problems else "PRECHECK"
        raise OrderProblem("; ".join(problems), code)
    description = " - ".join(part for part in (order.reference, order.payment_method) if part)
    return BookingPlan(
        tenant=config.tenant,
        order_id=order.id,
        reference=order.reference,
        sales_number=sales_number,
        date=order.order_date,
        description=description,
        payment_method=order.payment_method,
        term_days=config.eboekhouden.payment_term_days,
        regime=regime,
        book_as=config.eboekhouden.book_as,
        debtor=debtor,
        fixed_debtor=fixed_debtor_for(order, regime, config),
        rows=tuple(rows),
        invoice_number=order.invoice_number,
        notes=order.notes,
        payment_reference=payment_reference(order, config),
        delivery_country=order.delivery_country,
    )
