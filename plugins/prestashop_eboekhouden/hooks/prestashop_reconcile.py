"""What the reconciliation reads from PrestaShop (mixed into PrestaShopHook): a period's orders and credit slips by
their date (``date_add``), as light rows, 1,000 a request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

ROWS_PER_PAGE = 1000  # as prestashop.ROWS_PER_PAGE: light rows, one page of a thousand
ORDER_FIELDS = "[id,reference,current_state,date_add,date_upd,total_paid_tax_incl,id_shop]"
SLIP_FIELDS = "[id,id_order,date_add,date_upd,total_products_tax_incl,total_shipping_tax_incl]"


class ShopPeriods:
    """A period's orders and credit slips, light."""

    def _added(self, resource: str, display: str, first: dt.date, last: dt.date) -> Iterator[list[dict]]:
        yield from self.pages(  # type: ignore[attr-defined]
            resource,
            page_size=max(self.page_size, ROWS_PER_PAGE),  # type: ignore[attr-defined]
            display=display,
            filters={"date_add": f"[{first:%Y-%m-%d} 00:00:00,{last:%Y-%m-%d} 23:59:59]"},  # PrestaShop's interval is inclusive
            date_filter=True,
        )

    def orders_added(self, first: dt.date, last: dt.date) -> Iterator[list[dict]]:
        """The orders dated from the first to the last day (shop-local): id, reference, status, dates, total."""
        return self._added("orders", ORDER_FIELDS, first, last)

    def slips_added(self, first: dt.date, last: dt.date) -> Iterator[list[dict]]:
        """The credit slips dated from the first to the last day (shop-local): ids, dates, totals."""
        return self._added("order_slip", SLIP_FIELDS, first, last)
