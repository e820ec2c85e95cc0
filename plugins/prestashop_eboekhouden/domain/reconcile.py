"""The reconciliation's rules: what the shop, the state store and e-Boekhouden each say about a period, and where they
differ — each difference once, with a stable ``kind`` and the next step in a bookkeeper's words. Pure: every function
here is a function of its inputs (the pipeline reads the three sides, ``pipeline/reconcile.py``).

Kinds (stable: the dashboard, the JSON of ``setup reconcile --json`` and the notifier use them):

- ``not_seen``: an order (or credit slip) in the shop, in a process status, dated in the period, that no run has seen in
  that status (its ``date_upd`` moved backwards, an import, a shop clock off by an hour) → Process;
- ``cancelled_after_booking``: booked, then cancelled (any status that is not a process status) in the shop, and not
  credited in full → book a credit or correct it in e-Boekhouden;
- ``changed_after_booking``: booked, then the shop's total changed → the same;
- ``missing_in_books``: booked by us, e-Boekhouden does not have it (looked up by number, not only listed) → deleted in
  e-Boekhouden? once the bookkeeper confirms, Process books it again;
- ``changed_in_books``: e-Boekhouden's booking differs from what we sent (amount, rows, date);
- ``unknown_in_books``: a booking with this tenant's number pattern that we never wrote (a second integration, by hand;
  not the sale of an order a bookkeeper worked off as booked by hand under the number we would have given it);
- ``paid_not_booked``: paid in the shop, its payment not booked;
- ``paid_twice``: its payment booked by us and by hand as well.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from prestashop_eboekhouden.domain.booking import number_of
from prestashop_eboekhouden.domain.money import ZERO, fmt

NOT_SEEN = "not_seen"
CANCELLED_AFTER_BOOKING = "cancelled_after_booking"
CHANGED_AFTER_BOOKING = "changed_after_booking"
MISSING_IN_BOOKS = "missing_in_books"
CHANGED_IN_BOOKS = "changed_in_books"
UNKNOWN_IN_BOOKS = "unknown_in_books"
PAID_NOT_BOOKED = "paid_not_booked"
PAID_TWICE = "paid_twice"
KINDS = (NOT_SEEN, CANCELLED_AFTER_BOOKING, CHANGED_AFTER_BOOKING, MISSING_IN_BOOKS, CHANGED_IN_BOOKS, UNKNOWN_IN_BOOKS, PAID_NOT_BOOKED, PAID_TWICE)
# the kinds a look at the shop decides, and those a look at e-Boekhouden decides
SHOP_KINDS = frozenset({NOT_SEEN, CANCELLED_AFTER_BOOKING, CHANGED_AFTER_BOOKING, PAID_NOT_BOOKED})
BOOKS_KINDS = frozenset({MISSING_IN_BOOKS, CHANGED_IN_BOOKS, UNKNOWN_IN_BOOKS, PAID_TWICE})
LABELS = {
    NOT_SEEN: "Never seen by a run", CANCELLED_AFTER_BOOKING: "Cancelled after booking", CHANGED_AFTER_BOOKING: "Changed after booking",
    MISSING_IN_BOOKS: "Missing in e-Boekhouden", CHANGED_IN_BOOKS: "Changed in e-Boekhouden", UNKNOWN_IN_BOOKS: "Not ours in e-Boekhouden",
    PAID_NOT_BOOKED: "Paid, payment not booked", PAID_TWICE: "Payment booked twice",
}  # fmt: skip
SALE, PAYMENT = 2, 3  # e-Boekhouden mutation types: invoice sent (sales and credits), invoice payment received


@dataclass(frozen=True)
class Difference:
    """One difference between the shop, what we booked and e-Boekhouden; ``subject`` identifies it across runs."""

    kind: str
    subject: str
    date: dt.date | None
    order_id: int | None = None
    slip_id: int | None = None
    reference: str = ""
    sales_number: str = ""
    shop: Decimal | None = None
    booked: Decimal | None = None
    books: Decimal | None = None
    detail: str = ""
    next_step: str = ""


@dataclass(frozen=True)
class ShopOrder:
    """An order as the shop lists it now (light: no lines)."""

    order_id: int
    reference: str
    status: int
    status_name: str
    paid: bool  # its status means paid in the shop
    date: dt.date | None  # date_add's day: the booking date
    date_upd: dt.datetime | None
    total_incl: Decimal | None


@dataclass(frozen=True)
class ShopSlip:
    """A credit slip as the shop lists it."""

    slip_id: int
    order_id: int
    date: dt.date | None
    date_upd: dt.datetime | None
    total_incl: Decimal | None  # products + shipping given back, with VAT (what the slip says; for display)


@dataclass(frozen=True)
class BooksRow:
    """A row of a booking in e-Boekhouden: ledger code, VAT code and amounts."""

    ledger: str
    vat_code: str
    incl: Decimal
    excl: Decimal
    vat: Decimal


@dataclass(frozen=True)
class InBooks:
    """A booking e-Boekhouden has: as listed (``rows`` None: its amounts unknown) or read whole."""

    number: str
    id: int | None
    date: str
    type: int  # 2 sale or credit, 3 payment, 0 an invoice
    total_incl: Decimal | None = None
    rows: tuple[BooksRow, ...] | None = None
    relation: str = ""  # the relation's id or code, as the backend names it
    entry: str = ""  # a payment's entry number (the shop's transaction id)

    @property
    def whole(self) -> bool:
        """Its amounts are known."""
        return self.total_incl is not None


@dataclass(frozen=True)
class Booked:
    """A sale or credit the state store holds as booked (order or credit slip)."""

    order_id: int
    slip_id: int | None
    reference: str
    sales_number: str
    date: dt.date | None
    amount_incl: Decimal
    eb_id: int | None
    eb_kind: str  # mutation | invoice
    rows: tuple[tuple[str, str, Decimal], ...] = ()  # (ledger, vat code, incl) of the plan
    eb_number: str = ""  # the number e-Boekhouden has it under, when not the sales number (an invoice it numbered)

    @property
    def books_number(self) -> str:
        return self.eb_number or self.sales_number

    @property
    def subject(self) -> str:
        return f"slip {self.slip_id}" if self.slip_id is not None else f"order {self.order_id}"


@dataclass
class Found:
    """A comparison's differences and what it looked at (a difference it looked at and did not find again is resolved)."""

    differences: list[Difference] = field(default_factory=list)
    examined: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, difference: Difference) -> None:
        self.differences.append(difference)

    def looked_at(self, kinds: Iterable[str], subject: str) -> None:
        for kind in kinds:
            self.examined[kind].add(subject)

    def merge(self, other: Found) -> Found:
        self.differences += other.differences
        for kind, subjects in other.examined.items():
            self.examined[kind] |= subjects
        return self


def _amount(value: Decimal | None) -> str:
    return fmt(value) if value is not None else "?"


# ---- the shop against the store -------------------------------------------------------------------------------


def compare_shop(
    orders: Iterable[ShopOrder], slips: Iterable[ShopSlip], stored: Mapping[int, dict[str, Any]], stored_slips: Mapping[int, dict[str, Any]],
    credits_of: Mapping[int, list[dict[str, Any]]], payments_of: Mapping[int, list[dict[str, Any]]], *, process: frozenset[int] | set[int],
    payments: bool, hourly_dag: str,
) -> Found:  # fmt: skip
    """The shop's orders and slips of a period against the state store's rows (order id → row, slip id → row; the
    booked credits and the payments of each order). ``payments``: the tenant books payments (payments.enabled)."""
    found = Found()
    listed: set[int] = set()
    for order in orders:
        listed.add(order.order_id)
        row = stored.get(order.order_id)
        subject = f"order {order.order_id}"
        found.looked_at(SHOP_KINDS, subject)
        if row is not None and booked_by_hand(row) and order.status not in process and not credits_of.get(order.order_id):
            found.add(_cancelled_by_hand(order, row))  # the bookkeeper's sale stands, the shop sold nothing
            continue
        if row is None or row["state"] != "booked":
            if order.status in process and _never_seen_in_process(row, process):
                found.add(_not_seen(order, row))
            continue
        booked = row["amount_incl"]
        credited = Credited.of(credits_of.get(order.order_id, []))
        common = dict(subject=subject, date=order.date, order_id=order.order_id, reference=order.reference, sales_number=row.get("sales_number") or "")
        if order.status not in process:
            if credited.leaves(booked):
                found.add(cancelled(common, order.status_name, order.total_incl, booked, credited))
            continue
        if order.total_incl is not None and booked is not None and order.total_incl != booked:
            found.add(changed(common, order.total_incl, booked))
        paid = payments_of.get(order.order_id, [])
        settled = bool(paid) and all(p["state"] == "booked" or booked_by_hand(p) for p in paid)  # by us or, worked off, by hand
        if payments and order.paid and row.get("payment_state") != "paid" and not settled:
            found.add(_paid_not_booked(common, order.total_incl, paid))
    for order_id, row in stored.items():  # booked in the period, gone from the shop's list
        if order_id not in listed and row["state"] == "booked" and row.get("order_date") is not None:
            subject = f"order {order_id}"
            found.looked_at(SHOP_KINDS, subject)
            credited = Credited.of(credits_of.get(order_id, []))
            if credited.leaves(row["amount_incl"]):
                common = dict(subject=subject, date=row["order_date"], order_id=order_id, reference=row.get("reference") or "", sales_number=row.get("sales_number") or "")
                found.add(cancelled(common, None, None, row["amount_incl"], credited))
    for slip in slips:
        subject = f"slip {slip.slip_id}"
        found.looked_at((NOT_SEEN,), subject)
        if slip.slip_id not in stored_slips:
            found.add(_slip_not_seen(slip, stored.get(slip.order_id), hourly_dag))
    return found


def _never_seen_in_process(row: dict[str, Any] | None, process: frozenset[int] | set[int]) -> bool:
    """No run saw the order in a process status: it is not in the store, or only as waiting in another status (an
    order a run saw in a process status is in Open as ready or in doubt, or in Errors: those tabs show it)."""
    if row is None:
        return True
    return row["state"] == "open" and row.get("shop_status") not in process and not row.get("plan") and row.get("intent_at") is None


def _not_seen(order: ShopOrder, row: dict[str, Any] | None) -> Difference:
    when = f"; last changed {order.date_upd:%Y-%m-%d %H:%M} (shop time)" if order.date_upd else ""
    seen = f"seen only as {row['shop_status']!s} (status)" if row is not None and row.get("shop_status") is not None else "never seen by a run"
    return Difference(
        NOT_SEEN, f"order {order.order_id}", order.date, order.order_id, None, order.reference, "", order.total_incl, None, None,
        f"{order.status_name} in the shop, {seen}{when}",
        "No run has seen this order in a status to book (its last change lies outside every hourly window): Process it to book it now.",
    )


def _slip_not_seen(slip: ShopSlip, order_row: dict[str, Any] | None, hourly_dag: str) -> Difference:
    when = f"{slip.date_upd:%Y-%m-%d %H:%M}" if slip.date_upd else "its date"
    order_state = f"order {slip.order_id} is {order_row['state']}" if order_row else f"order {slip.order_id} is not in the store"
    return Difference(
        NOT_SEEN, f"slip {slip.slip_id}", slip.date, slip.order_id, slip.slip_id, (order_row or {}).get("reference") or "",
        "", -slip.total_incl if slip.total_incl is not None else None, None, None,
        f"Credit slip {slip.slip_id} of {when} (shop time) was never seen by a run; {order_state}",
        f"Run {hourly_dag} with since/until around {when} (it books the credit slips of that window), or book the refund by hand.",
    )


def booked_by_hand(row: Mapping[str, Any]) -> bool:
    """A credit slip or payment a bookkeeper worked off in Errors as "booked by hand" (store_worked_off.py)."""
    return row.get("state") == "resolved" and row.get("resolution") == "by_hand"


@dataclass(frozen=True)
class Credited:
    """The credit slips of a booked order: those the integration booked (their amounts are known: it wrote them), and
    those a bookkeeper worked off in Errors as "booked by hand" — what was booked by hand is not known here, only what
    the shop states the slip refunded. The order counts as credited in full when the shop states that the slips booked
    by hand refunded exactly what the integration's credits left of the sale (the bookkeeper took care of it); any other
    by-hand amount is not taken as booked: a guess either way, so the difference stays, naming those slips."""

    booked: Decimal = ZERO
    by_hand_stated: Decimal | None = ZERO  # what the shop states the slips booked by hand refunded (None: not stated)
    by_hand_slips: tuple[str, ...] = ()  # "slip 7 (the shop states 12.10; marked by anna)"
    in_errors: tuple[int, ...] = ()  # not booked: refused, waiting for the bookkeeper in Errors
    in_open: tuple[int, ...] = ()  # not booked yet: the next run books it

    @classmethod
    def of(cls, credits: Iterable[Mapping[str, Any]]) -> Credited:
        booked: Decimal = ZERO
        stated: Decimal | None = ZERO
        named: list[str] = []
        errors: list[int] = []
        waiting: list[int] = []
        for credit in credits:
            amount, state, slip = credit.get("amount_incl"), credit.get("state"), int(credit.get("slip_id") or 0)
            if state == "booked" and amount is not None:  # a booked credit always has its amount
                booked += amount
            elif booked_by_hand(credit):
                stated = stated + amount if stated is not None and amount is not None else None
                says = f"the shop states {fmt(-amount)}" if amount is not None else "the shop states no amount"
                named.append(f"slip {slip} ({says}; marked by {credit.get('resolved_by') or '?'})")
            elif state == "error":
                errors.append(slip)
            elif state == "open":
                waiting.append(slip)
        return cls(booked, stated, tuple(named), tuple(errors), tuple(waiting))

    def left(self, sale: Decimal) -> Decimal:
        """What the integration's own bookings leave of the sale (its sale and its credits)."""
        return sale + self.booked

    def leaves(self, sale: Decimal) -> bool:
        """The sale is not credited in full: by the integration's credits, or by slips booked by hand that the shop
        states refunded exactly the rest."""
        left = self.left(sale)
        if left == 0:
            return False
        return not (self.by_hand_slips and self.by_hand_stated is not None and left + self.by_hand_stated == 0)

    def words(self) -> str:
        parts = [f"credits booked {fmt(-self.booked)}"] if self.booked else []
        if self.by_hand_slips:
            parts.append(f"booked by hand: {', '.join(self.by_hand_slips)}")
        for slips, what in ((self.in_errors, "in Errors"), (self.in_open, "not booked yet (Open)")):
            if slips:
                parts.append(f"{what}: {', '.join(f'slip {s}' for s in slips)}")
        return "; ".join(parts)


def cancelled(common: dict[str, Any], status: str | None, shop_total: Decimal | None, booked: Decimal, credited: Credited) -> Difference:
    """A booked order the shop no longer sells (cancelled, refunded without a slip, deleted)."""
    net = credited.left(booked)
    now = f"now {status} in the shop (order total {_amount(shop_total)})" if status else "no longer in the shop"
    credit = f"; {credited.words()}" if credited.words() else ""
    step = (
        f"The books keep a sale of {fmt(net)} the shop no longer has: book a credit for it in e-Boekhouden (or make a credit "
        "slip in the shop: the integration books it), or correct the booking in e-Boekhouden. The integration never changes a booking."
    )
    if credited.in_errors:  # the credit exists in the shop: the integration refused to book it on a guess
        slips = ", ".join(str(s) for s in credited.in_errors)
        step = (
            f"Its credit slip ({slips}) is in Errors, not booked: work it off there (book the refund by hand in e-Boekhouden "
            "and mark it booked by hand, or fix its cause); the sale it leaves standing shows here until then."
        )
    elif credited.in_open:
        step = f"Its credit slip ({', '.join(str(s) for s in credited.in_open)}) is not booked yet: the next run books it. {step}"
    elif credited.by_hand_slips:
        step = (
            f"Its credit slips booked by hand do not, as the shop states them, refund the {fmt(net)} the integration's bookings "
            "leave of this sale: check in e-Boekhouden what was booked by hand, and book a credit for what it does not cover "
            "(or correct it there). The integration never changes a booking."
        )
    return Difference(CANCELLED_AFTER_BOOKING, **common, shop=ZERO, booked=net, detail=f"Booked {fmt(booked)}, {now}{credit}", next_step=step)


def _cancelled_by_hand(order: ShopOrder, row: Mapping[str, Any]) -> Difference:
    """An order a bookkeeper worked off as booked by hand, now cancelled in the shop without a credit slip: the sale
    booked by hand stands (its amount is not known here)."""
    return Difference(
        CANCELLED_AFTER_BOOKING, f"order {order.order_id}", order.date, order.order_id, None, order.reference, row.get("sales_number") or "",
        ZERO, None, None, f"Booked by hand (marked by {row.get('resolved_by') or '?'}), now {order.status_name} in the shop "
        f"(order total {_amount(order.total_incl)}); no credit slip",
        "The sale booked by hand for this order stands while the shop no longer has it: book a credit for it in e-Boekhouden "
        "(or make a credit slip in the shop and work it off in Errors), or correct the booking there.",
    )  # fmt: skip


def changed(common: dict[str, Any], shop_total: Decimal, booked: Decimal) -> Difference:
    """A booked order whose total changed in the shop."""
    return Difference(
        CHANGED_AFTER_BOOKING, **common, shop=shop_total, booked=booked,
        detail=f"The shop's total is now {fmt(shop_total)}, booked {fmt(booked)} (difference {fmt(shop_total - booked)})",
        next_step=f"Changed in the shop after it was booked: book a credit or an extra sale of {fmt(shop_total - booked)} in "
        "e-Boekhouden, or correct the booking there. The integration never changes a booking.",
    )


def _paid_not_booked(common: dict[str, Any], shop_total: Decimal | None, payments: list[dict[str, Any]]) -> Difference:
    refused = [p for p in payments if p["state"] == "error"]
    dismissed = [p for p in payments if p["state"] == "resolved" and p.get("resolution") == "dismissed"]
    booked = sum((p["amount"] for p in payments if p["state"] == "booked" and p.get("amount") is not None), ZERO)
    if dismissed and not refused:
        who = f" by {dismissed[0]['resolved_by']}" if dismissed[0].get("resolved_by") else ""
        why = f"its payment was dismissed in Errors{who} (never booked by the integration)"
        step = "If the money did come in, book the payment by hand in e-Boekhouden; if it did not, correct the order's status in the shop."
    elif refused:
        why = f"the payment was refused: {refused[0].get('reason') or 'see the Payments tab'}"
        step = "Fix the cause shown in the Payments tab (the daily payments run tries again), or book the payment by hand in e-Boekhouden."
    elif payments:
        why = "its payment waits in the Payments tab"
        step = "The daily payments run books it; if it stays, see the Payments tab or book it by hand in e-Boekhouden."
    else:
        why = "the shop has no payment registered on it (or the payments run has not read it yet)"
        step = "Register the payment on the order in the shop (the daily payments run books it), or book it by hand in e-Boekhouden."
    return Difference(PAID_NOT_BOOKED, **common, shop=shop_total, booked=booked, detail=f"Paid in the shop; {why}", next_step=step)


# ---- the store against e-Boekhouden ---------------------------------------------------------------------------------


def our_numbers(prefix: str, sales_number: str, credit_suffix: str) -> re.Pattern[str]:
    """The pattern of the sales numbers this tenant writes: its prefix, then the reference (nine capitals, PrestaShop's
    Order::generateReference), the invoice number or the order id; ``-<order id>`` for a split cart; a credit's suffix
    and slip id. Without a prefix and with numeric numbers the pattern is wide (any number): give the tenant a prefix."""
    body = r"[A-Z]{9}" if sales_number == "reference" else r"\d+"
    return re.compile(rf"^{re.escape(prefix)}{body}(?:-\d+)?(?:{re.escape(credit_suffix)}\d+)?$")


def by_hand_numbers(rows: Iterable[Mapping[str, Any]], prefix: str, sales_number: str) -> set[str]:
    """The numbers (case folded) a sale of these orders has when a bookkeeper booked it by hand under the number the
    integration would have given it (orders worked off in Errors as "booked by hand": their sales number when one was
    planned, else the prefix and the reference or order id; by invoice number only when planned — the invoice
    number is not kept otherwise)."""
    numbers = (row.get("sales_number") or number_of(prefix, sales_number, str(row.get("reference") or ""), int(row["order_id"])) for row in rows)
    return {str(number).casefold() for number in numbers if number}


def compare_booking(booked: Booked, books: InBooks) -> str | None:
    """What differs between what we sent and e-Boekhouden's booking (read whole), in words; None when it is the same."""
    problems = []
    if books.total_incl is not None and books.total_incl != booked.amount_incl:
        problems.append(f"total {fmt(books.total_incl)} instead of {fmt(booked.amount_incl)}")
    elif books.rows is not None and booked.rows:
        ours, theirs = _by_ledger_code(booked.rows), _by_ledger_code((r.ledger, r.vat_code, r.incl) for r in books.rows)
        moved = sorted(key for key in set(ours) | set(theirs) if ours.get(key, ZERO) != theirs.get(key, ZERO))
        if moved:
            problems.append("rows " + ", ".join(f"{ledger}/{code} {fmt(theirs.get((ledger, code), ZERO))} instead of {fmt(ours.get((ledger, code), ZERO))}" for ledger, code in moved[:4]))
    if booked.date is not None and books.date and books.date[:10] != booked.date.isoformat():
        problems.append(f"dated {books.date[:10]} instead of {booked.date.isoformat()}")
    return "; ".join(problems) or None


def _by_ledger_code(rows: Iterable[tuple[str, str, Decimal]]) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for ledger, code, incl in rows:
        sums[(str(ledger), str(code))] += incl
    return dict(sums)


def changed_in_books(booked: Booked, books: InBooks, what: str) -> Difference:
    return Difference(
        CHANGED_IN_BOOKS, booked.subject, booked.date, booked.order_id, booked.slip_id, booked.reference, booked.sales_number, None,
        booked.amount_incl, books.total_incl, f"e-Boekhouden's booking {books.id or ''} of {booked.sales_number}: {what}".replace("booking  of", "booking of"),
        "Changed in e-Boekhouden after it was booked (by the bookkeeper, or another integration writing the same number): check it "
        "there and correct it if it should be what the shop sold.",
    )


def missing_in_books(booked: Booked) -> Difference:
    return Difference(
        MISSING_IN_BOOKS, booked.subject, booked.date, booked.order_id, booked.slip_id, booked.reference, booked.sales_number, None,
        booked.amount_incl, None, f"Booked by us as {booked.sales_number} ({booked.eb_kind} {booked.eb_id or '?'}); e-Boekhouden has no booking with that number",
        "Deleted in e-Boekhouden? Confirm it here; then Process books it again (with the shop's data of today).",
    )


def unknown_in_books(books: InBooks) -> Difference:
    return Difference(
        UNKNOWN_IN_BOOKS, f"number {books.number}", _day(books.date), None, None, "", books.number, None, None, books.total_incl,
        f"e-Boekhouden has {'an invoice' if books.type == 0 else 'a sale'} {books.id or ''} numbered {books.number} of {books.date[:10]}; "
        "this integration never wrote it".replace("  ", " "),
        "A booking with this webshop's number pattern that the integration did not write: a second integration or a booking by "
        "hand. Check it in e-Boekhouden; give each webshop (and integration) its own sales_number_prefix.",
    )


def paid_twice(common: dict[str, Any], shop_paid: Decimal | None, ours: Decimal, listed: Sequence[InBooks]) -> Difference:
    total = sum((b.total_incl for b in listed if b.total_incl is not None), ZERO) if all(b.whole for b in listed) else None
    return Difference(
        PAID_TWICE, **common, shop=shop_paid, booked=ours, books=total,
        detail=f"{len(listed)} payments in e-Boekhouden under {common['sales_number']} ({', '.join(str(b.id or '?') for b in listed)}); "
        f"this integration booked {fmt(ours)}",
        next_step="The payment was booked by this integration and by hand as well: delete the extra one in e-Boekhouden.",
    )


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def compare_books(
    booked: Sequence[Booked], listed: Iterable[InBooks], read: Mapping[str, InBooks], looked_up: Mapping[str, InBooks | None],
    known: Callable[[str], bool], ours: re.Pattern[str],
) -> Found:  # fmt: skip
    """Our bookings of the period against e-Boekhouden's.

    ``listed``: the sales and credits (and invoices) e-Boekhouden lists for the period; ``read``: number → the booking
    read whole in this run (or listed whole); ``looked_up``: number → what a lookup by number found for each booking not
    listed (None: nothing); ``known``: whether a number is one we booked (any date)."""
    found = Found()
    present: dict[str, list[InBooks]] = defaultdict(list)
    for item in listed:
        present[item.number.strip().casefold()].append(item)
    for ours_booked in booked:
        subject = ours_booked.subject
        number = ours_booked.books_number
        hit = looked_up.get(number)
        candidates = present.get(number.strip().casefold()) or ([hit] if hit is not None else [])
        if not candidates:
            if number in looked_up:  # listed nowhere in the period and not found by its number either
                found.looked_at((MISSING_IN_BOOKS,), subject)
                found.add(missing_in_books(ours_booked))
            continue
        found.looked_at((MISSING_IN_BOOKS,), subject)
        whole = read.get(number) or next((c for c in candidates if c.whole), None)
        if whole is None:
            continue  # present, amounts not read in this run (the rotation reads it within its days)
        found.looked_at((CHANGED_IN_BOOKS,), subject)
        what = compare_booking(ours_booked, whole)
        if what:
            found.add(changed_in_books(ours_booked, whole, what))
    for items in present.values():
        item = items[0]
        if ours.match(item.number) and not known(item.number):
            subject = f"number {item.number}"
            found.looked_at((UNKNOWN_IN_BOOKS,), subject)
            found.add(unknown_in_books(item))
    return found


def compare_read(booked: Sequence[Booked], read: Mapping[str, InBooks | None]) -> Found:
    """Bookings outside the period read in full for the rotation: changed or gone (None: not found by its id or number)."""
    found = Found()
    for ours_booked in booked:
        if ours_booked.books_number not in read:
            continue
        whole = read[ours_booked.books_number]
        found.looked_at((MISSING_IN_BOOKS, CHANGED_IN_BOOKS), ours_booked.subject)
        if whole is None:
            found.add(missing_in_books(ours_booked))
        elif what := compare_booking(ours_booked, whole):
            found.add(changed_in_books(ours_booked, whole, what))
    return found


def compare_payments(
    booked: Mapping[str, Booked], payments: Iterable[InBooks], ours_by_number: Mapping[str, list[dict[str, Any]]], shop_paid: Mapping[int, Decimal | None]
) -> Found:
    """Payments e-Boekhouden lists in the period against those we booked: a number of ours with a payment we did not
    write while we booked one too is paid twice (the bookkeeper's bank booking and ours) — unless it is a payment of
    that order a bookkeeper worked off in Errors as booked by hand (a split payment: one part ours, one by hand)."""
    found = Found()
    listed: dict[str, list[InBooks]] = defaultdict(list)
    for item in payments:
        listed[item.number].append(item)
    for number, items in listed.items():
        sale = booked.get(number)
        if sale is None:
            continue
        mine = [p for p in ours_by_number.get(number, []) if p["state"] == "booked"]
        found.looked_at((PAID_TWICE,), sale.subject)
        ids = {p.get("eb_id") for p in mine if p.get("eb_id")}
        foreign = [i for i in items if i.id is None or i.id not in ids] if ids else items[len(mine):]
        for by_hand in (p for p in ours_by_number.get(number, []) if booked_by_hand(p)):  # the bookkeeper's, by its amount
            same = next((i for i in foreign if i.total_incl is None or by_hand.get("amount") is None or abs(i.total_incl) == abs(by_hand["amount"])), None)
            if same is not None:
                foreign.remove(same)
        if mine and foreign:
            common = dict(subject=sale.subject, date=sale.date, order_id=sale.order_id, reference=sale.reference, sales_number=number)
            ours_total = sum((p["amount"] for p in mine if p.get("amount") is not None), ZERO)
            found.add(paid_twice(common, shop_paid.get(sale.order_id), ours_total, items))
    return found


# ---- the rotation of full reads --------------------------------------------------------------------------------------


def read_budget(eligible: int, within_days: int, cap: int, unread_in_period: int = 0) -> int:
    """Full reads for one run: its share, so that every eligible booking is read within ``within_days`` days of daily runs,
    and at least the period's bookings never read yet (yesterday's, on a daily run); at most ``cap``."""
    if eligible <= 0:
        return 0
    return min(cap, max(math.ceil(eligible / max(1, within_days)), unread_in_period))


def pick_for_reading(candidates: Iterable[tuple[str, dt.datetime | None, dt.date | None]], budget: int) -> list[str]:
    """The numbers to read in full: never read first (oldest booking first), then the longest unread."""
    ordered = sorted(candidates, key=lambda c: (c[1] is not None, c[1] or dt.datetime.min, c[2] or dt.date.min, c[0]))
    return [number for number, _, _ in ordered[: max(0, budget)]]
