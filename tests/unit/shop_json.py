"""PrestaShop webservice JSON for domain tests: the real field names and string formats.

Amounts are written by the tests exactly as the webservice sends them ("12.950000"); these helpers
only fill the fields a test does not care about, and never compute an amount the test asserts.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from prestashop_eboekhouden.config import parse_tenant
from prestashop_eboekhouden.domain.model import OrderState, ShopContext

TAX_RATES = {"1": "21.000", "2": "9.000", "3": "0.000", "4": "19.000", "5": "7.000", "6": "20.000", "7": "0.210", "8": "5.500"}
COUNTRIES = {"13": "NL", "1": "DE", "3": "BE", "8": "FR", "21": "US", "19": "CH", "17": "GB", "2": "AT", "9": "GR"}
COUNTRY_IDS = {iso: cid for cid, iso in COUNTRIES.items()}

TENANT = {
    "tenant": "acme",
    "timezone": "Europe/Amsterdam",
    "start_date": "2026-01-01",
    "prestashop": {"shop_country": "NL", "process_statuses": [2, 3, 4, 5]},
    "eboekhouden": {"debtor_ledger": "1300", "sales_number": "reference", "payment_term_days": 14},
    "vat": {
        "rates": {
            "21": {"vat_code": "HOOG_VERK_21", "revenue_ledger": "8000"},
            "9": {"vat_code": "LAAG_VERK_9", "revenue_ledger": "8010"},
            "0": {"vat_code": "GEEN", "revenue_ledger": "8020"},
        },
        "icp": {"vat_code": "BI_EU_VERK", "revenue_ledger": "8100"},
        "international": {"vat_code": "BU_EU_VERK", "revenue_ledger": "8200"},
        "oss": {
            "DE": {
                "19": {"vat_code": "VAT_OSS", "revenue_ledger": "8300", "vat_ledger": "1630"},
                "7": {"vat_code": "VAT_OSS", "revenue_ledger": "8300", "vat_ledger": "1630"},
            }
        },
    },
}


def tenant(**overrides):
    """The test tenant, with sections replaced or extended."""
    data = {**TENANT}
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    return parse_tenant(data, Path("acme.yaml"))


def context(**overrides) -> ShopContext:
    """The shop's countries, taxes and states as the hook reads them."""
    values = dict(
        shop_country="NL",
        countries={int(k): v for k, v in COUNTRIES.items()},
        taxes={int(k): Decimal(v) for k, v in TAX_RATES.items()},
        states={2: OrderState(2, "Payment accepted", True), 10: OrderState(10, "Awaiting bank wire payment", False)},
        currencies={1: "EUR", 2: "USD"},
    )
    values.update(overrides)
    return ShopContext(**values)


def detail(name, qty, unit_incl, unit_excl, total_incl, total_excl, tax_id="1", *, sku="SKU", id_order="114", id="1"):
    """One order_details row as the webservice sends it."""
    return {
        "id": str(id),
        "id_order": str(id_order),
        "product_id": "200",
        "product_quantity": str(qty),
        "product_name": name,
        "product_reference": sku,
        "unit_price_tax_incl": unit_incl,
        "unit_price_tax_excl": unit_excl,
        "total_price_tax_incl": total_incl,
        "total_price_tax_excl": total_excl,
        "id_tax_rules_group": "1",
        "associations": {"taxes": [{"id": tax_id}] if tax_id else []},
    }


def order(
    *,
    products_wt,
    products,
    paid_incl,
    paid_excl,
    shipping=("0.000000", "0.000000", "0.000"),
    wrapping=("0.000000", "0.000000"),
    discounts=("0.000000", "0.000000"),
    id="114",
    reference="XKBKNABJK",
    state="2",
    payment="Bank wire",
    module="ps_wirepayment",
    id_customer="2",
    id_address_invoice="5313",
    id_address_delivery="5313",
    date_add="2026-11-20 10:15:00",
    invoice_number="0",
    conversion_rate="1.000000",
    id_currency="1",
):
    """One order (display=full) with the given totals; the test states every amount."""
    return {
        "id": int(id),
        "id_address_delivery": str(id_address_delivery),
        "id_address_invoice": str(id_address_invoice),
        "id_cart": "77",
        "id_currency": id_currency,
        "id_lang": "1",
        "id_customer": str(id_customer),
        "id_carrier": "2",
        "id_shop": "1",
        "current_state": str(state),
        "module": module,
        "payment": payment,
        "invoice_number": str(invoice_number),
        "invoice_date": "0000-00-00 00:00:00",
        "reference": reference,
        "date_add": date_add,
        "date_upd": date_add,
        "conversion_rate": conversion_rate,
        "total_discounts_tax_incl": discounts[0],
        "total_discounts_tax_excl": discounts[1],
        "total_paid": paid_incl,
        "total_paid_real": paid_incl,
        "total_paid_tax_incl": paid_incl,
        "total_paid_tax_excl": paid_excl,
        "total_products": products,
        "total_products_wt": products_wt,
        "total_shipping": shipping[0],
        "total_shipping_tax_incl": shipping[0],
        "total_shipping_tax_excl": shipping[1],
        "carrier_tax_rate": shipping[2],
        "total_wrapping": wrapping[0],
        "total_wrapping_tax_incl": wrapping[0],
        "total_wrapping_tax_excl": wrapping[1],
        "associations": {"order_rows": []},
    }


def customer(id="2", email="jan.jansen@example.nl", firstname="Jan", lastname="Jansen", company=""):
    """A customers row."""
    return {"id": str(id), "email": email, "firstname": firstname, "lastname": lastname, "company": company}


def address(
    id="5313", *, country="NL", firstname="Jan", lastname="Jansen", company="", vat_number="", deleted="0",
    address1="Kerkstraat 1", postcode="1011 AA", city="Amsterdam", id_customer="2", phone="020 123 4567",
):
    """An addresses row (country by PrestaShop id)."""
    return {
        "id": str(id),
        "id_customer": str(id_customer),
        "id_country": COUNTRY_IDS[country],
        "alias": "Home",
        "company": company,
        "lastname": lastname,
        "firstname": firstname,
        "vat_number": vat_number,
        "address1": address1,
        "address2": "",
        "postcode": postcode,
        "city": city,
        "phone": phone,
        "phone_mobile": "",
        "deleted": deleted,
    }
