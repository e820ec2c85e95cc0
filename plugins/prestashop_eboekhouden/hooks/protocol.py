"""What the booking code needs from an e-Boekhouden backend: the REST hook and the legacy SOAP hook both provide it.

Payloads are the REST API's shapes (domain/payloads.py); a backend for another wire format translates them. What
a backend answers is whole: a sale found by its number comes with its relation and date, a payment with its amount,
so the booking code never tells one backend from another by the shape of an item. An error that means something
to the booking code carries one of the outcomes below as :attr:`ApiError.meaning <hooks.base.ApiError>`, set by the
backend that read the API's own code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Protocol, TypedDict

from prestashop_eboekhouden.contract.eboekhouden import CODE_TAKEN as CODE_TAKEN  # the outcomes, for the booking code
from prestashop_eboekhouden.contract.eboekhouden import DUPLICATE_NUMBER as DUPLICATE_NUMBER
from prestashop_eboekhouden.contract.eboekhouden import RELATION_GONE as RELATION_GONE
from prestashop_eboekhouden.contract.eboekhouden import SESSION_EXPIRED as SESSION_EXPIRED
from prestashop_eboekhouden.domain.reconcile import InBooks

# How many unknown debtors (or relation ids) make one listing of all relations cheaper than a request each;
# shared by the booking and payment code and the legacy SOAP hook.
BULK_THRESHOLD = 25


class FoundSale(TypedDict, total=False):
    """A sale (or credit) e-Boekhouden has under a sales number, as far as the backend can say: its id (None when
    the API lists it without one), its date (YYYY-MM-DD), its relation (id, or code), and ``in_doubt`` when only its
    date is known."""

    id: int | None
    date: str
    relationId: int | None
    relationCode: str
    in_doubt: bool


class FoundPayment(TypedDict, total=False):
    """A payment booked under a sales number: id, entry number (the shop's transaction id) and the amount of its
    rows (None when the API lists it without an id, so its rows cannot be read)."""

    id: int | None
    entryNumber: str
    amount: Decimal | None


class BookkeepingApi(Protocol):
    """One e-Boekhouden administration, as the booking and payment code use it."""

    requests_made: Counter[tuple[str, str]]

    @property
    def page_size(self) -> int:
        """How many items one page of a listing really holds (what a request costs in items)."""

    def ledgers(self) -> dict[str, dict]:
        """Ledger code → ledger ({id, code, category})."""

    def ledger_ids(self, codes: Iterable[str]) -> dict[str, int]:
        """Ids for ledger codes; ConfigurationProblem names a missing code."""

    def invoice_template_id(self, name: str) -> int:
        """Id of the named invoice template; ConfigurationProblem when missing."""

    def relation_by_email(self, email: str) -> dict | None:
        """The relation with this e-mail address: at least {id, code}."""

    def relation_by_code(self, code: str) -> dict | None:
        """The relation with exactly this code."""

    def relation_codes_like(self, base: str) -> list[str]:
        """Codes that start with a base name."""

    def relations(self) -> Iterator[dict]:
        """Every relation: at least {id, code} each."""

    def create_relation(self, payload: dict) -> dict:
        """Create a debtor → {id, code}."""

    def sales_by_number(self, sales_number: str, around: dt.date | None = None) -> list[FoundSale]:
        """The sales (mutation type 2) booked under a sales number, whole (``around``: the sale's date, a hint)."""

    def payments_by_number(self, sales_number: str) -> list[FoundPayment]:
        """The payments (mutation type 3) booked under a sales number, with their amounts."""

    def create_mutation(self, payload: dict) -> dict:
        """Create a mutation → {id}."""

    def invoices(self, **filters: object) -> list[dict]:
        """Invoices by invoiceNumber / relationId / date."""

    def create_invoice(self, payload: dict) -> dict:
        """Create an invoice → {id, invoiceNumber}."""

    def outstanding(self, invoice_number: str) -> list[dict]:
        """Outstanding debtor items of a sales number."""

    def all_outstanding(self) -> Iterator[dict]:
        """Every outstanding debtor item."""

    # ---- what the reconciliation reads (never a write) ---------------------------------------------------------

    def bookings_between(self, since: dt.date, until: dt.date) -> Iterator[InBooks]:
        """Sales and credits (type 2) and payments (type 3) dated in [since, until]: whole where the backend lists them
        whole (SOAP), else number, id and date only (REST: a list item's amount is not documented)."""

    def invoices_between(self, since: dt.date, until: dt.date) -> Iterator[InBooks]:
        """Invoices dated in [since, until], with their totals."""

    def read_bookings(self, wanted: Sequence[tuple[str, int | None, dt.date | None]], invoices: bool = False) -> dict[str, InBooks | None]:
        """The bookings of these (number, id or None, date or None) read whole: number → booking, None when there is none."""

    def close_session(self) -> None:
        """End the session (revoke tokens)."""

    def test_connection(self) -> tuple[bool, str]:
        """One cheap call: (ok, message)."""
