"""Golden cases (issue 25): PrestaShop's own rounding differences booked as a rounding row when the tenant allows it
(``rounding.tolerance``), and sales numbers made of safe characters only.

Every expected row was worked out by hand: rows are (ledger, VAT code, amount incl VAT, amount excl VAT, description).
A rounding row carries the difference shop total − lines, without VAT (GEEN), on the tenant's rounding ledger.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from prestashop_eboekhouden.config import InvalidTenantFile
from prestashop_eboekhouden.domain.booking import ROUNDING, BookingPlan, build_plan, safe_sales_number
from prestashop_eboekhouden.domain.errors import OrderProblem
from prestashop_eboekhouden.domain.normalize import normalize_order

from .shop_json import address, context, customer, detail, order, tenant

KETTLE = detail("Kettle 1L", 1, "12.950000", "10.702479", "12.950000", "10.700000", sku="KET-1")
CART = [
    KETTLE,
    detail("Coffee beans 1kg", 2, "15.500000", "14.220183", "31.000000", "28.440367", "2", id="2"),
    detail("Gift card", 1, "25.000000", "25.000000", "25.000000", "25.000000", "3", id="3"),
]
TOLERANT = {"rounding": {"tolerance": "0.02", "ledger": "8990"}}
ROUNDING_ROW = "Rounding difference (PrestaShop)"


def plan_of(the_order, details, **tenant_overrides):
    config = tenant(**tenant_overrides)
    normalized = normalize_order(the_order, details, customer(), [address()], context(), config.configured_rates())
    return normalized, build_plan(normalized, config, context())


def rows_of(plan):
    return [(r.ledger, r.vat_code, str(r.amount_incl), str(r.amount_excl), r.description) for r in plan.rows]


@pytest.mark.parametrize(
    "paid_incl, rows",
    [
        # 12.95 of lines, the shop charged 12.96: one cent more, booked on 8990 without VAT
        ("12.960000", [("8000", "HOOG_VERK_21", "12.95", "10.70", "Kettle 1L"), ("8990", "GEEN", "0.01", "0.01", ROUNDING_ROW)]),
        # the shop charged 12.94: one cent less, a negative rounding row
        ("12.940000", [("8000", "HOOG_VERK_21", "12.95", "10.70", "Kettle 1L"), ("8990", "GEEN", "-0.01", "-0.01", ROUNDING_ROW)]),
        # two cents: the tolerance itself is still booked
        ("12.970000", [("8000", "HOOG_VERK_21", "12.95", "10.70", "Kettle 1L"), ("8990", "GEEN", "0.02", "0.02", ROUNDING_ROW)]),
        # no difference: no rounding row at all (no 0.00 rows)
        ("12.950000", [("8000", "HOOG_VERK_21", "12.95", "10.70", "Kettle 1L")]),
    ],
)
def test_a_difference_within_the_tolerance_is_a_rounding_row(paid_incl, rows):
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl=paid_incl, paid_excl="10.700000")
    normalized, plan = plan_of(the_order, [KETTLE], **TOLERANT)
    assert rows_of(plan) == rows
    assert plan.total_incl == normalized.total_paid_incl == Decimal(paid_incl).quantize(Decimal("0.01"))  # the sale is the shop's total
    assert [r.kind for r in plan.rows] == ["", *([ROUNDING] if len(rows) == 2 else [])]


def test_a_mixed_cart_with_shipping_books_its_cent_on_the_rounding_ledger():
    # lines 12.95 + 31.00 + 25.00 + shipping 4.95 = 73.90; the shop charged 73.89
    the_order = order(products_wt="68.950000", products="64.140000", shipping=("4.950000", "4.090909", "21.000"), paid_incl="73.890000", paid_excl="68.230000")
    normalized, plan = plan_of(the_order, CART, **TOLERANT)
    assert rows_of(plan) == [
        ("8000", "HOOG_VERK_21", "12.95", "10.70", "Kettle 1L"),
        ("8010", "LAAG_VERK_9", "31.00", "28.44", "Coffee beans 1kg"),
        ("8020", "GEEN", "25.00", "25.00", "Gift card"),
        ("8000", "HOOG_VERK_21", "4.95", "4.09", "Shipping"),
        ("8990", "GEEN", "-0.01", "-0.01", ROUNDING_ROW),
    ]
    assert plan.total_incl == Decimal("73.89")
    assert plan.total_excl == Decimal("68.22")  # 68.23 of lines, less the rounding cent (no VAT on it)


def test_a_difference_above_the_tolerance_still_goes_to_errors():
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl="12.980000", paid_excl="10.700000")
    with pytest.raises(OrderProblem) as caught:
        plan_of(the_order, [KETTLE], **TOLERANT)
    assert caught.value.reason == "Order total 12.98 ≠ lines + shipping + wrapping − discount 12.95"


def test_the_default_tolerance_is_the_manuals_rule_not_a_cent():
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl="12.960000", paid_excl="10.700000")
    with pytest.raises(OrderProblem, match="Order total 12.96 ≠ lines"):
        plan_of(the_order, [KETTLE])


def test_the_rounding_row_keeps_its_kind_through_the_store():
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl="12.960000", paid_excl="10.700000")
    _, plan = plan_of(the_order, [KETTLE], **TOLERANT)
    again = BookingPlan.from_dict(plan.to_dict())
    assert again.rows == plan.rows and again.rows[-1].kind == ROUNDING


def test_a_configured_vat_code_for_the_rounding_row():
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl="12.960000", paid_excl="10.700000")
    _, plan = plan_of(the_order, [KETTLE], rounding={"tolerance": "0.01", "ledger": "8990", "vat_code": "AFW"})
    assert rows_of(plan)[-1] == ("8990", "AFW", "0.01", "0.01", ROUNDING_ROW)


@pytest.mark.parametrize(
    "rounding, problem",
    [
        ({"tolerance": "0.01"}, "rounding: a rounding tolerance above 0.00 needs a ledger"),
        ({"tolerance": "0.10", "ledger": "8990"}, "rounding.tolerance: Input should be less than or equal to 0.05"),
        ({"tolerance": "-0.01", "ledger": "8990"}, "rounding.tolerance: Input should be greater than or equal to 0"),
        ({"tolerance": "0.005", "ledger": "8990"}, "rounding.tolerance: Decimal input should have no more than 2 decimal places"),
    ],
)
def test_the_rounding_section_is_checked(rounding, problem):
    with pytest.raises(InvalidTenantFile) as caught:
        tenant(rounding=rounding)
    assert problem in str(caught.value)


def test_a_yaml_number_is_read_as_written():
    assert tenant(rounding={"tolerance": 0.01, "ledger": 8990}).rounding.tolerance == Decimal("0.01")


# ---- sales numbers of safe characters -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, number",
    [
        ("XKBKNABJK", "XKBKNABJK"),  # PrestaShop's own references: unchanged
        ("WEB-2026/114.a_b", "WEB-2026-114.a_b"),
        ("<b>XKBK</b>", "b-XKBK-b"),
        ("Café 12", "Cafe-12"),
        ("A&B#C  D", "A-B-C-D"),
        ('"><script>alert(1)</script>', "script-alert-1-script"),
        ("--XK--", "XK"),
    ],
)
def test_safe_sales_numbers(text, number):
    assert safe_sales_number(text) == number


def test_a_reference_with_markup_becomes_a_safe_sales_number():
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl="12.950000", paid_excl="10.700000", reference="<i>XKBK</i>")
    _, plan = plan_of(the_order, [KETTLE], eboekhouden={"sales_number_prefix": "Shop #1 "})
    assert plan.sales_number == "Shop-1-i-XKBK-i"
    assert plan.reference == "<i>XKBK</i>"  # what the shop calls it stays as it is (the dashboard escapes it)


def test_a_reference_without_letters_or_digits_is_refused():
    the_order = order(products_wt="12.950000", products="10.700000", paid_incl="12.950000", paid_excl="10.700000", reference="###")
    with pytest.raises(OrderProblem, match="has no letter or digit to make a sales number of: set eboekhouden.sales_number to id"):
        plan_of(the_order, [KETTLE])
