"""What the reconciliation reads from e-Boekhouden, for both backends (read only: listings and reads, never a write).

- The REST API lists a period's mutations by type and date (``GET /v1/mutation?type=2&date[range]=a,b``, paged with
  the official filters) as thin list items: number, id, date. What a list item's ``amount`` holds is not documented, so
  it is never used: the amounts of a sale come from the full object (``GET /v1/mutation/{id}``), read only for the
  bookings the pipeline picks (bounded per run, rotated). Invoices list their totals (``totalAmount``, documented).
- The legacy SOAP API's GetMutaties answers whole mutations with their rows, for a date range, at most a few hundred at a
  time (the sandbox, like the real service, answers the last 500): a period is read by mutation number ranges until a
  call answers nothing new. Its listings are whole, so it needs no reads of single bookings but for those not listed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from prestashop_eboekhouden.domain.money import to_cents
from prestashop_eboekhouden.domain.payloads import PAYMENT_RECEIVED, SALE, VAT_CODE_RATES, vat_split
from prestashop_eboekhouden.domain.reconcile import BooksRow, InBooks
from prestashop_eboekhouden.hooks.base import ApiError
from prestashop_eboekhouden.hooks.soap_values import SOORT_TYPES, at, items, lookup_window
from prestashop_eboekhouden.hooks.soap_values import day as soap_day

WANTED_TYPES = (SALE, PAYMENT_RECEIVED)
# A SOAP listing with fewer mutations than this is complete (no server caps that low; the REST API's documented
# default page is the same assumption); a longer one is read on by mutation number until a call answers nothing new.
SOAP_TRUSTED = 100


def _money(value: Any) -> Decimal:
    return to_cents(Decimal(str(value if value not in (None, "") else 0)))


def _row_amounts(amount: Decimal, code: str, in_ex: str, vat_amount: Any) -> tuple[Decimal, Decimal, Decimal]:
    """(incl, excl, VAT) of a REST row: its amount is incl or excl per the mutation's inExVat; the VAT as e-Boekhouden
    returns it per row, else computed as it computes it (a code it does not know: none)."""
    if vat_amount not in (None, ""):
        vat = _money(vat_amount)
    elif code in VAT_CODE_RATES:
        vat = vat_split(amount, code, "IN" if in_ex != "EX" else "EX")[1]
    else:
        vat = Decimal("0.00")
    if in_ex == "EX":
        return amount + vat, amount, vat
    return amount, amount - vat, vat


class RestReconciling:
    """The REST API's reads for the reconciliation (mixed into EBoekhoudenHook)."""

    pool_size: int
    if TYPE_CHECKING:  # provided by the hook

        def _matching(self, endpoint: str, params: dict, wanted: Callable[[dict], bool], what: str) -> Iterator[dict]: ...
        def ledgers(self) -> dict[str, dict]: ...
        def invoices(self, **filters: Any) -> list[dict]: ...
        def mutation(self, mutation_id: int) -> dict: ...
        def mutations_by_invoice_number(self, invoice_number: str, mutation_type: int | None = None) -> list[dict]: ...

    def bookings_between(self, since: dt.date, until: dt.date) -> Iterator[InBooks]:
        """Sales and credits (type 2) and payments (type 3) dated in [since, until], as listed (amounts unknown)."""
        low, high = since.isoformat(), until.isoformat()
        for kind in WANTED_TYPES:
            params = {"type": kind, "date[range]": f"{low},{high}"}

            def wanted(item: dict, kind: int = kind) -> bool:
                return item.get("type") in (None, kind) and low <= str(item.get("date") or "")[:10] <= high

            for item in self._matching("v1/mutation", params, wanted, "type/date[range] (mutations)"):
                yield InBooks(
                    number=str(item.get("invoiceNumber") or ""), id=int(item["id"]) if item.get("id") else None,
                    date=str(item.get("date") or "")[:10], type=kind, entry=str(item.get("entryNumber") or ""),
                )  # fmt: skip

    def invoices_between(self, since: dt.date, until: dt.date) -> Iterator[InBooks]:
        """Invoices dated in [since, until], whole: an invoice list item carries its totals."""
        low, high = since.isoformat(), until.isoformat()
        within = lambda item: low <= str(item.get("date") or "")[:10] <= high  # noqa: E731
        for item in self._matching("v1/invoice", {"date[range]": f"{low},{high}"}, within, "date[range] (invoices)"):
            yield self._invoice(item)

    @staticmethod
    def _invoice(item: dict) -> InBooks:
        total = item.get("totalAmount")
        return InBooks(
            number=str(item.get("invoiceNumber") or ""), id=int(item["id"]) if item.get("id") else None, date=str(item.get("date") or "")[:10],
            type=0, total_incl=_money(total) if total is not None else None, relation=str(item.get("relationId") or ""),
        )  # fmt: skip

    def read_bookings(self, wanted: Sequence[tuple[str, int | None, dt.date | None]], invoices: bool = False) -> dict[str, InBooks | None]:
        """The bookings of these numbers read whole: a mutation by its id (``GET /v1/mutation/{id}``; by its number when the
        id is unknown or gone), an invoice by its number. number → the booking, None when e-Boekhouden has none."""
        read = self._invoice_by_number if invoices else self._sale_in_full
        if not invoices and wanted:
            self.ledgers()  # once, before the threads need the codes
        with ThreadPoolExecutor(max_workers=max(1, self.pool_size), thread_name_prefix="read") as pool:
            found = list(pool.map(lambda w: (w[0], read(*w)), wanted))
        return dict(found)

    def _invoice_by_number(self, number: str, _id: int | None = None, _day: dt.date | None = None) -> InBooks | None:
        items = self.invoices(invoiceNumber=number)
        return self._invoice(items[0]) if items else None

    def _sale_in_full(self, number: str, mutation_id: int | None = None, _day: dt.date | None = None) -> InBooks | None:
        if mutation_id:
            try:
                full = self.mutation(int(mutation_id))
            except ApiError as exc:
                if exc.status != 404:
                    raise
                full = None
            if full and str(full.get("invoiceNumber") or "").strip().casefold() == number.strip().casefold():
                return self._whole(full, int(mutation_id))
        for item in self.mutations_by_invoice_number(number, SALE):
            if item.get("id"):
                return self._whole(self.mutation(int(item["id"])), int(item["id"]))
            return InBooks(number=number, id=None, date=str(item.get("date") or "")[:10], type=SALE)  # listed without an id: present, unread
        return None

    def _whole(self, full: dict, mutation_id: int) -> InBooks:
        """A full mutation with its rows (ledger codes for ids, amounts incl and excl VAT)."""
        codes = {int(ledger["id"]): code for code, ledger in self.ledgers().items() if ledger.get("id") is not None}
        in_ex = str(full.get("inExVat") or "IN")
        rows = []
        for row in full.get("rows") or []:
            code = str(row.get("vatCode") or "")
            incl, excl, vat = _row_amounts(_money(row.get("amount")), code, in_ex, row.get("vatAmount"))
            rows.append(BooksRow(codes.get(int(row.get("ledgerId") or 0), str(row.get("ledgerId") or "")), code, incl, excl, vat))
        return InBooks(
            number=str(full.get("invoiceNumber") or ""), id=mutation_id, date=str(full.get("date") or "")[:10], type=int(full.get("type") or SALE),
            total_incl=sum((r.incl for r in rows), Decimal("0.00")), rows=tuple(rows), relation=str(full.get("relationId") or ""),
        )  # fmt: skip


class SoapReconciling:
    """The legacy SOAP API's reads for the reconciliation (mixed into EBoekhoudenSoapHook): GetMutaties is whole."""

    if TYPE_CHECKING:  # provided by the hook

        def call(self, operation: str, **fields: Any) -> dict[str, Any]: ...

    def _mutaties(self, since: dt.date, until: dt.date, number: str | None = None) -> Iterator[dict]:
        """Every cMutatieList of a date range (and number), read on by MutatieNr ranges while a call may have been cut."""
        base = {"MutatieNr": 0, "Factuurnummer": number, "DatumVan": at(since), "DatumTm": at(until)}
        seen: set[int] = set()

        def call(**bounds: int) -> list[dict]:
            result = self.call("GetMutaties", cFilter={**base, **bounds})
            fresh = [m for m in items(result, "Mutaties", "cMutatieList") if int(m["MutatieNr"]) not in seen]
            seen.update(int(m["MutatieNr"]) for m in fresh)
            return fresh

        page = call()
        yield from page
        if len(page) < SOAP_TRUSTED:
            return
        low, high = min(seen), max(seen)
        while page := call(MutatieNrTm=low - 1):  # the service answers the last N: read on below the lowest
            yield from page
            low = min(low, *(int(m["MutatieNr"]) for m in page))
        while page := call(MutatieNrVan=high + 1):  # and above the highest, should it answer the first N
            yield from page
            high = max(high, *(int(m["MutatieNr"]) for m in page))

    @staticmethod
    def _whole(item: dict) -> InBooks:
        rows = tuple(
            BooksRow(str(row.get("TegenrekeningCode") or ""), str(row.get("BTWCode") or ""), _money(row.get("BedragInclBTW")),
                     _money(row.get("BedragExclBTW")), _money(row.get("BedragBTW")))
            for row in items(item, "MutatieRegels", "cMutatieListRegel")
        )  # fmt: skip
        return InBooks(
            number=str(item.get("Factuurnummer") or ""), id=int(item["MutatieNr"]), date=soap_day(item.get("Datum")),
            type=SOORT_TYPES.get(str(item.get("Soort")), 0), total_incl=sum((r.incl for r in rows), Decimal("0.00")), rows=rows,
            relation=str(item.get("RelatieCode") or ""), entry=str(item.get("Boekstuk") or ""),
        )  # fmt: skip

    def bookings_between(self, since: dt.date, until: dt.date) -> Iterator[InBooks]:
        """Sales and credits (type 2) and payments (type 3) dated in [since, until], whole (GetMutaties has the rows)."""
        for item in self._mutaties(since, until):
            booking = self._whole(item)
            if booking.type in WANTED_TYPES:
                yield booking

    def invoices_between(self, since: dt.date, until: dt.date) -> Iterator[InBooks]:
        """Invoices dated in [since, until], whole (GetFacturen: totals)."""
        yield from self._facturen(since, until)

    def _facturen(self, since: dt.date, until: dt.date, number: str | None = None) -> Iterator[InBooks]:
        result = self.call("GetFacturen", cFilter={"Factuurnummer": number, "Relatiecode": None, "DatumVan": at(since), "DatumTm": at(until)})
        for item in items(result, "Facturen", "cFactuurList"):
            yield InBooks(
                number=str(item.get("Factuurnummer") or ""), id=None, date=soap_day(item.get("Datum")), type=0,
                total_incl=_money(item.get("TotaalInclBTW")), relation=str(item.get("Relatiecode") or ""),
            )  # fmt: skip

    def read_bookings(self, wanted: Sequence[tuple[str, int | None, dt.date | None]], invoices: bool = False) -> dict[str, InBooks | None]:
        """The bookings of these numbers, whole: one listing per day they are dated (a day's listing has every booking of it),
        then a lookup by number (a year around its date) for each not found on its day."""
        found: dict[str, InBooks | None] = {}
        by_day: dict[dt.date, list[str]] = defaultdict(list)
        for number, _id, day in wanted:
            if day is not None:
                by_day[day].append(number)
        for day, numbers in sorted(by_day.items()):
            listed = self._facturen(day, day) if invoices else (self._whole(m) for m in self._mutaties(day, day))
            index = _first_by_number(b for b in listed if invoices or b.type == SALE)
            found.update({n: index[n.strip().casefold()] for n in numbers if n.strip().casefold() in index})
        for number, _id, day in wanted:
            if number in found:
                continue
            since, until = (d.date() for d in lookup_window(day))
            listed = self._facturen(since, until, number) if invoices else (self._whole(m) for m in self._mutaties(since, until, number))
            found[number] = _first_by_number(b for b in listed if invoices or b.type == SALE).get(number.strip().casefold())
        return found


def _first_by_number(bookings: Iterable[InBooks]) -> dict[str, InBooks]:
    index: dict[str, InBooks] = {}
    for booking in bookings:
        index.setdefault(booking.number.strip().casefold(), booking)
    return index
