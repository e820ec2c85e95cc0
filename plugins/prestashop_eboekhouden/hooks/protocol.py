"""What the booking code needs from an e-Boekhouden backend: the REST hook and the legacy SOAP hook both provide it.

Payloads are the REST API's shapes (domain/payloads.py); a backend for another wire format translates them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Protocol

# How many unknown debtors (or relation ids) make one listing of all relations cheaper than a request each;
# shared by the booking and payment code and the legacy SOAP hook.
BULK_THRESHOLD = 25


class BookkeepingApi(Protocol):
    """One e-Boekhouden administration, as the booking and payment code use it."""

    requests_made: Counter[tuple[str, str]]

    def ledgers(self) -> dict[str, dict]:
        """Ledger code → ledger ({id, code, category})."""

    def ledger_ids(self, codes: Iterable[str]) -> dict[str, int]:
        """Ids for ledger codes; ConfigurationError names a missing code."""

    def invoice_template_id(self, name: str) -> int:
        """Id of the named invoice template; ConfigurationError when missing."""

    def relation_by_email(self, email: str) -> dict | None:
        """The relation with this e-mail address: at least {id, code} (REST answers a thin list item)."""

    def relation_by_code(self, code: str) -> dict | None:
        """The relation with exactly this code."""

    def relation_codes_like(self, base: str) -> list[str]:
        """Codes that start with a base name."""

    def relations(self) -> Iterator[dict]:
        """Every relation: at least {id, code} each."""

    def create_relation(self, payload: dict) -> dict:
        """Create a debtor → {id, code}."""

    def mutations_by_invoice_number(self, invoice_number: str, mutation_type: int | None = None) -> list[dict]:
        """Mutations with this invoice number: list items ({id, type, date, invoiceNumber, entryNumber, ...}).

        A backend whose items also carry the relation (relationId or relationCode) is decided on them;
        otherwise the booking code reads the full mutation (``mutation``)."""

    def mutation(self, mutation_id: int) -> dict:
        """The full mutation: relationId, date, rows (only asked of a backend whose list items lack the relation)."""

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

    def close_session(self) -> None:
        """End the session (revoke tokens)."""

    def test_connection(self) -> tuple[bool, str]:
        """One cheap call: (ok, message)."""
