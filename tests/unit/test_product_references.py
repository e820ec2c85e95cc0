"""Issue 15 #11: product references for lines without a SKU, read in one batch, optional permission."""

from __future__ import annotations

import logging

from prestashop_eboekhouden.hooks.prestashop import PrestaShopPermissionError
from prestashop_eboekhouden.pipeline.orders import product_references


class Shop:
    """Stands in for PrestaShopHook.products: records each call."""

    def __init__(self, rows=None, refuse=False):
        self.calls, self.rows, self.refuse = [], rows or [], refuse

    def products(self, ids):
        self.calls.append(list(ids))
        if self.refuse:
            raise PrestaShopPermissionError(403, "PS_403", "PrestaShop key lacks View permission on products")
        return self.rows


def test_one_call_for_all_ids_and_references_by_id():
    shop = Shop([{"id": 7, "reference": " LAMP-7 "}, {"id": 9, "reference": ""}])
    assert product_references(shop, set(("9", "7", "7"))) == {"7": "LAMP-7", "9": ""}
    assert shop.calls == [["7", "9"]]


def test_no_lines_without_sku_no_request():
    shop = Shop()
    assert product_references(shop, set()) == {}
    assert shop.calls == []


def test_a_key_without_products_permission_books_without_codes_and_says_so(caplog):
    with caplog.at_level(logging.WARNING):
        assert product_references(Shop(refuse=True), {"7"}) == {}
    assert "may not read products" in caplog.text
