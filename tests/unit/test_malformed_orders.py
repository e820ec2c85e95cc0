"""Malformed webservice data gives a reason naming the field, never a bare exception."""

from __future__ import annotations

import copy

import pytest

from prestashop_eboekhouden.domain.booking import build_plan
from prestashop_eboekhouden.domain.errors import MalformedOrder, OrderProblem
from prestashop_eboekhouden.domain.normalize import normalize_order

from .shop_json import address, context, customer, detail, order, tenant


def _good():
    return (
        order(products_wt="12.950000", products="10.700000", paid_incl="12.950000", paid_excl="10.700000"),
        [detail("Kettle 1L", 1, "12.950000", "10.702479", "12.950000", "10.700000")],
        customer(),
        [address()],
    )


def _broken(change):
    raw, details, cust, addresses = copy.deepcopy(_good())
    change(raw, details, cust, addresses)
    return raw, details, cust, addresses


CASES = [
    ("total missing", lambda o, d, c, a: o.pop("total_paid_tax_incl"), "Field order.total_paid_tax_incl is missing"),
    ("total null", lambda o, d, c, a: o.update(total_paid_tax_incl=None), "Field order.total_paid_tax_incl is missing"),
    ("total not a number", lambda o, d, c, a: o.update(total_products_wt="12,95"), "Field order.total_products_wt is '12,95', not a number"),
    ("shipping not a number", lambda o, d, c, a: o.update(total_shipping_tax_incl="free"), "Field order.total_shipping_tax_incl is 'free', not a number"),
    ("negative quantity", lambda o, d, c, a: d[0].update(product_quantity="-1"), "Field order_details[1].product_quantity is -1, a negative quantity"),
    ("fractional quantity", lambda o, d, c, a: d[0].update(product_quantity="1.5"), "Field order_details[1].product_quantity is '1.5', not a whole number"),
    ("line total not a number", lambda o, d, c, a: d[0].update(total_price_tax_incl="abc"), "Field order_details[1].total_price_tax_incl is 'abc', not a number"),
    ("unknown tax id", lambda o, d, c, a: d[0].update(associations={"taxes": [{"id": "99"}]}), "Field order_details[1].taxes refers to unknown tax id 99"),
    ("unknown country id", lambda o, d, c, a: a[0].update(id_country="999"), "Field addresses[5313].id_country refers to unknown country id 999"),
    ("customer missing", lambda o, d, c, a: c.clear(), "Field order.id_customer points at a customer the shop does not have"),
    ("customer without e-mail", lambda o, d, c, a: c.update(email=""), "Field customer.email is missing"),
    ("e-mail without @", lambda o, d, c, a: c.update(email="not-an-address"), "Field customer.email is 'not-an-address', not an e-mail address"),
    ("no addresses", lambda o, d, c, a: a.clear(), "Field order.id_address_invoice is 5313 and the customer has no addresses"),
    ("date unset", lambda o, d, c, a: o.update(date_add="0000-00-00 00:00:00"), "Field order.date_add is missing"),
    ("date garbage", lambda o, d, c, a: o.update(date_add="yesterday"), "Field order.date_add is 'yesterday', not a date 'YYYY-MM-DD HH:MM:SS'"),
    ("reference missing", lambda o, d, c, a: o.update(reference=""), "Field order.reference is missing"),
    ("negative discount", lambda o, d, c, a: o.update(total_discounts_tax_incl="-1.000000"), "Field order.total_discounts_tax_incl is -1.00, a negative discount"),
    ("detail row not an object", lambda o, d, c, a: d.append("garbage"), "Field order_details[2] is not an object"),
    ("float instead of string", lambda o, d, c, a: o.update(total_products=10.7), "Field order.total_products is 10.7, not a number"),
    ("infinite amount", lambda o, d, c, a: o.update(total_products="Infinity"), "Field order.total_products is 'Infinity', not a number"),
    ("id missing", lambda o, d, c, a: o.pop("id"), "Field order.id is missing"),
]


@pytest.mark.parametrize(("name", "change", "reason"), CASES, ids=[c[0] for c in CASES])
def test_malformed_order_names_the_field(name, change, reason):
    raw, details, cust, addresses = _broken(change)
    with pytest.raises(OrderProblem) as caught:
        order_ = normalize_order(raw, details, cust or None, addresses, context())
        build_plan(order_, tenant(), context())
    assert caught.value.reason == reason


def test_malformed_is_an_order_problem_with_code():
    raw, details, cust, addresses = _broken(lambda o, d, c, a: o.update(total_products="x"))
    with pytest.raises(MalformedOrder) as caught:
        normalize_order(raw, details, cust, addresses, context())
    assert caught.value.code == "MALFORMED"
    assert caught.value.field == "order.total_products"


def test_long_names_and_markup_are_kept_as_text_and_capped():
    raw, details, cust, addresses = _broken(lambda o, d, c, a: d[0].update(product_name="<b>Kettle</b> ☕" + "x" * 10_000))
    normalized = normalize_order(raw, details, cust, addresses, context())
    assert normalized.lines[0].description.startswith("<b>Kettle</b> ☕")
    assert len(normalized.lines[0].description) == 255
