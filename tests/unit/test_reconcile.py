"""The reconciliation's rules (domain/reconcile.py, domain/vat_totals.py): tables of cases, no HTTP, no Airflow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from prestashop_eboekhouden.domain import vat_totals
from prestashop_eboekhouden.domain.reconcile import (
    Booked,
    BooksRow,
    InBooks,
    ShopOrder,
    ShopSlip,
    by_hand_numbers,
    compare_books,
    compare_payments,
    compare_read,
    compare_shop,
    our_numbers,
    pick_for_reading,
    read_budget,
)

D = Decimal
DAY = dt.date(2026, 11, 20)
PROCESS = frozenset({2, 3, 4, 5})


def shop(order_id: int, total: str = "24.20", status: int = 2, paid: bool = True, name: str = "Payment accepted") -> ShopOrder:
    return ShopOrder(order_id, f"REF{order_id}", status, name, paid, DAY, dt.datetime(2026, 11, 20, 10), D(total))


def row(state: str = "booked", amount: str | None = "24.20", shop_status: int | None = 2, **extra) -> dict:
    return {"state": state, "amount_incl": D(amount) if amount else None, "shop_status": shop_status, "sales_number": "S-1", "order_date": DAY,
            "reference": "REF", "plan": {"rows": []} if state == "booked" else None, "intent_at": None, "payment_state": "paid", **extra}  # fmt: skip


def by_hand(refund: str | None, resolution: str = "by_hand") -> dict:
    """A credit slip a bookkeeper worked off in Errors; its amount_incl: the shop's refund (negative), None if not known."""
    return {"slip_id": 7, "state": "resolved", "resolution": resolution, "resolved_by": "anna", "amount_incl": None if refund is None else D(refund)}


def paid_by_hand(resolution: str = "by_hand") -> dict:
    """A payment a bookkeeper worked off in Errors."""
    return {"payment_id": 3, "state": "resolved", "resolution": resolution, "resolved_by": "anna", "amount": D("24.20")}


# case → (shop order, stored row (None: not in the store), credits, payments, kinds found)
SHOP_CASES = {
    "booked and unchanged": (shop(1), row(), [], [], []),
    "never seen by a run": (shop(1), None, [], [], ["not_seen"]),
    "seen only while waiting for payment": (shop(1), row("open", None, 10), [], [], ["not_seen"]),
    "seen in a process status, refused (Errors shows it)": (shop(1), row("error", None), [], [], []),
    "ready to book (Open shows it)": (shop(1), row("open", None, 2, plan={"rows": []}), [], [], []),
    "waiting and still not in a process status": (shop(1, status=10, paid=False), row("open", None, 10), [], [], []),
    "cancelled after booking": (shop(1, status=6, paid=False, name="Canceled"), row(), [], [], ["cancelled_after_booking"]),
    "cancelled and credited in full": (shop(1, status=7, paid=False, name="Refunded"), row(), [{"state": "booked", "amount_incl": D("-24.20")}], [], []),
    "cancelled and credited in part": (shop(1, status=7, paid=False), row(), [{"state": "booked", "amount_incl": D("-4.20")}], [], ["cancelled_after_booking"]),
    "cancelled, its slip booked by hand in full": (shop(1, status=7, paid=False), row(), [by_hand("-24.20")], [], []),
    "cancelled, one slip booked, one by hand": (shop(1, status=7, paid=False), row(), [{"state": "booked", "amount_incl": D("-20.00")}, by_hand("-4.20")], [], []),
    "cancelled, its slip booked by hand in part": (shop(1, status=7, paid=False), row(), [by_hand("-4.20")], [], ["cancelled_after_booking"]),
    "cancelled, its slip dismissed": (shop(1, status=7, paid=False), row(), [by_hand("-24.20", resolution="dismissed")], [], ["cancelled_after_booking"]),
    "cancelled, its slip by hand, the refund not known": (shop(1, status=7, paid=False), row(), [by_hand(None)], [], ["cancelled_after_booking"]),
    "booked by hand, then cancelled without a slip": (
        shop(1, status=6, paid=False), row("resolved", None, resolution="by_hand", resolved_by="anna"), [], [], ["cancelled_after_booking"],
    ),
    "booked by hand, then refunded with a slip (Errors shows it)": (
        shop(1, status=7, paid=False), row("resolved", None, resolution="by_hand"), [by_hand("-24.20")], [], [],
    ),
    "dismissed, then cancelled": (shop(1, status=6, paid=False), row("resolved", None, resolution="dismissed"), [], [], []),
    "booked by hand, still sold": (shop(1), row("resolved", None, resolution="by_hand"), [], [], []),
    "total changed after booking": (shop(1, "30.00"), row(), [], [], ["changed_after_booking"]),
    "a slip does not change the order's total": (shop(1), row(), [{"state": "booked", "amount_incl": D("-4.20")}], [], []),
    "paid, payment not booked": (shop(1), row(payment_state=None), [], [{"state": "error", "reason": "Payment 1.00 ≠ outstanding", "amount": D("1.00")}], ["paid_not_booked"]),
    "not paid in the shop": (shop(1, paid=False), row(payment_state=None), [], [], []),
    "paid, its payment booked by hand": (shop(1), row(payment_state=None), [], [paid_by_hand()], []),
    "paid, its payment dismissed": (shop(1), row(payment_state=None), [], [paid_by_hand("dismissed")], ["paid_not_booked"]),
    "paid, one part by hand, the other refused": (
        shop(1), row(payment_state=None), [], [paid_by_hand(), {"state": "error", "reason": "No outstanding item", "amount": D("4.20")}], ["paid_not_booked"],
    ),
    "paid, one part booked, the other by hand": (shop(1), row(payment_state=None), [], [paid_by_hand(), {"state": "booked", "amount": D("4.20")}], []),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SHOP_CASES))
def test_the_shop_against_the_store(case):
    order, stored, credits, payments, kinds = SHOP_CASES[case]
    found = compare_shop([order], [], {1: stored} if stored else {}, {}, {1: credits}, {1: payments}, process=PROCESS, payments=True, hourly_dag="demo__orders_hourly")
    assert [d.kind for d in found.differences] == kinds
    assert "order 1" in found.examined["not_seen"]


def test_shop_amounts_and_next_steps():
    found = compare_shop([shop(1, "30.00"), shop(2, status=6, paid=False, name="Canceled")], [], {1: row(), 2: row()}, {}, {}, {}, process=PROCESS, payments=False, hourly_dag="h")
    changed, cancelled = found.differences
    assert (changed.shop, changed.booked, changed.detail) == (D("30.00"), D("24.20"), "The shop's total is now 30.00, booked 24.20 (difference 5.80)")
    assert "book a credit or an extra sale of 5.80" in changed.next_step
    assert (cancelled.shop, cancelled.booked, cancelled.detail) == (D("0.00"), D("24.20"), "Booked 24.20, now Canceled in the shop (order total 24.20)")


def test_a_cancelled_order_says_which_slips_were_booked_by_hand():
    """What was booked by hand is not known: the difference keeps the integration's own figure and names the slips with
    what the shop states they refunded."""
    credits = {1: [{"state": "booked", "amount_incl": D("-10.00")}, by_hand("-4.20")], 2: [by_hand(None), by_hand("-24.20")]}
    orders = [shop(1, status=6, paid=False, name="Canceled"), shop(2, status=6, paid=False, name="Canceled")]
    part, unknown = compare_shop(orders, [], {1: row(), 2: row()}, {}, credits, {}, process=PROCESS, payments=False, hourly_dag="h").differences
    assert (part.booked, part.detail) == (
        D("14.20"), "Booked 24.20, now Canceled in the shop (order total 24.20); credits booked 10.00; booked by hand: slip 7 (the shop states 4.20; marked by anna)",
    )
    assert part.next_step.startswith("Its credit slips booked by hand do not, as the shop states them, refund the 14.20 the integration's bookings leave")
    assert (unknown.booked, unknown.detail) == (
        D("24.20"), "Booked 24.20, now Canceled in the shop (order total 24.20); booked by hand: slip 7 (the shop states no amount; marked by anna), "
        "slip 7 (the shop states 24.20; marked by anna)",
    )


def test_an_order_booked_by_hand_then_cancelled_says_so():
    stored = {1: row("resolved", None, resolution="by_hand", resolved_by="anna", sales_number="DEMO-REF1")}
    (difference,) = compare_shop([shop(1, status=6, paid=False, name="Canceled")], [], stored, {}, {}, {}, process=PROCESS, payments=True, hourly_dag="h").differences
    assert (difference.kind, difference.shop, difference.booked, difference.sales_number) == ("cancelled_after_booking", D("0.00"), None, "DEMO-REF1")
    assert difference.detail == "Booked by hand (marked by anna), now Canceled in the shop (order total 24.20); no credit slip"
    assert difference.next_step.startswith("The sale booked by hand for this order stands while the shop no longer has it")


def test_a_cancelled_order_whose_slip_is_in_errors_points_there():
    credits = {1: [{"slip_id": 8, "state": "error", "amount_incl": D("-24.20")}], 2: [{"slip_id": 9, "state": "open", "amount_incl": None}]}
    orders = [shop(1, status=7, paid=False, name="Refunded"), shop(2, status=7, paid=False, name="Refunded")]
    refused, waiting = compare_shop(orders, [], {1: row(), 2: row()}, {}, credits, {}, process=PROCESS, payments=False, hourly_dag="h").differences
    assert (refused.booked, refused.detail) == (D("24.20"), "Booked 24.20, now Refunded in the shop (order total 24.20); in Errors: slip 8")
    assert refused.next_step.startswith("Its credit slip (8) is in Errors, not booked: work it off there")
    assert waiting.detail.endswith("; not booked yet (Open): slip 9")
    assert waiting.next_step.startswith("Its credit slip (9) is not booked yet: the next run books it. The books keep a sale of 24.20")


def test_a_dismissed_payment_is_named_as_dismissed():
    (difference,) = compare_shop([shop(1)], [], {1: row(payment_state=None)}, {}, {}, {1: [paid_by_hand("dismissed")]}, process=PROCESS, payments=True, hourly_dag="h").differences
    assert difference.detail == "Paid in the shop; its payment was dismissed in Errors by anna (never booked by the integration)"
    assert difference.next_step.startswith("If the money did come in, book the payment by hand in e-Boekhouden")


def test_a_booked_order_gone_from_the_shop_and_a_slip_no_run_saw():
    slip = ShopSlip(12, 1, DAY, dt.datetime(2026, 11, 20, 9, 30), D("10.90"))
    found = compare_shop([], [slip], {1: row()}, {}, {}, {}, process=PROCESS, payments=False, hourly_dag="demo__orders_hourly")
    gone, unseen = found.differences
    assert (gone.kind, gone.detail) == ("cancelled_after_booking", "Booked 24.20, no longer in the shop")
    assert (unseen.kind, unseen.subject, unseen.slip_id, unseen.shop) == ("not_seen", "slip 12", 12, D("-10.90"))
    assert "demo__orders_hourly with since/until around 2026-11-20 09:30" in unseen.next_step
    assert compare_shop([], [slip], {}, {12: {"state": "booked"}}, {}, {}, process=PROCESS, payments=False, hourly_dag="h").differences == []


def booked(number: str = "DEMO-ABCDEFGHI", amount: str = "24.20", **extra) -> Booked:
    return Booked(1, None, "ABCDEFGHI", number, DAY, D(amount), 7, "mutation", (("8000", "HOOG_VERK_21", D(amount)),), **extra)


def whole(number: str = "DEMO-ABCDEFGHI", amount: str = "24.20", date: str = "2026-11-20", ledger: str = "8000") -> InBooks:
    return InBooks(number, 7, date, 2, D(amount), (BooksRow(ledger, "HOOG_VERK_21", D(amount), D(amount) / D("1.21"), D(0)),))


OURS = our_numbers("DEMO-", "reference", "-C")
# case → (listed in the period, read whole, looked up by number, kinds, detail)
BOOKS_CASES = {
    "present and the same": ([whole()], {}, {}, [], None),
    "present, amounts not read yet": ([InBooks("DEMO-ABCDEFGHI", 7, "2026-11-20", 2)], {}, {}, [], None),
    "amount changed": ([InBooks("DEMO-ABCDEFGHI", 7, "2026-11-20", 2)], {"DEMO-ABCDEFGHI": whole(amount="12.00")}, {}, ["changed_in_books"], "total 12.00 instead of 24.20"),
    "moved to another ledger": ([whole(ledger="8010")], {}, {}, ["changed_in_books"], "rows 8000/HOOG_VERK_21 0.00 instead of 24.20, 8010/HOOG_VERK_21 24.20 instead of 0.00"),
    "deleted": ([], {}, {"DEMO-ABCDEFGHI": None}, ["missing_in_books"], None),
    "re-dated out of the period": ([], {}, {"DEMO-ABCDEFGHI": whole(date="2026-12-02")}, ["changed_in_books"], "dated 2026-12-02 instead of 2026-11-20"),
    "not listed, not looked up yet": ([], {}, {}, [], None),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BOOKS_CASES))
def test_the_store_against_e_boekhouden(case):
    listed, read, looked_up, kinds, detail = BOOKS_CASES[case]
    found = compare_books([booked()], listed, read, looked_up, lambda n: True, OURS)
    assert [d.kind for d in found.differences] == kinds
    if detail:
        assert found.differences[0].detail.endswith(detail)


def test_a_booking_under_our_pattern_we_never_wrote():
    listed = [InBooks("DEMO-QWERTYUIO", 9, "2026-11-20", 2, D("15.00")), InBooks("2026-0001", 10, "2026-11-20", 2), InBooks("DEMO-ABCDEFGHI-C12", 11, "2026-11-20", 2)]
    found = compare_books([], listed, {}, {}, lambda n: n == "DEMO-ABCDEFGHI-C12", OURS)
    (unknown,) = found.differences
    assert (unknown.kind, unknown.subject, unknown.books, unknown.date) == ("unknown_in_books", "number DEMO-QWERTYUIO", D("15.00"), DAY)


# orders worked off as booked by hand → the numbers their sale has when booked under the number we would have given it
BY_HAND = [
    {"order_id": 12, "reference": "QWERTYUIO", "sales_number": None},  # refused before it was planned
    {"order_id": 13, "reference": "ZXCVBNMAS", "sales_number": "DEMO-ZXCVBNMAS-13"},  # planned (a split cart's number)
    {"order_id": 14, "reference": "<b>Café</b>", "sales_number": None},  # made safe as the booking would have made it
]


@pytest.mark.parametrize(
    ("rule", "numbers"),
    [
        ("reference", {"demo-qwertyuio", "demo-zxcvbnmas-13", "demo--b-cafe-b"}),
        ("id", {"demo-12", "demo-zxcvbnmas-13", "demo-14"}),
        ("invoice_number", {"demo-zxcvbnmas-13"}),  # the invoice number is only known once planned
    ],
)
def test_the_numbers_of_sales_booked_by_hand(rule, numbers):
    assert by_hand_numbers(BY_HAND, "DEMO-", rule) == numbers


def test_a_sale_booked_by_hand_for_an_order_in_errors_is_not_unknown():
    listed = [InBooks("DEMO-QWERTYUIO", 9, "2026-11-20", 2, D("15.00")), InBooks("DEMO-ASDFGHJKL", 10, "2026-11-20", 2, D("9.00"))]
    by_hand = by_hand_numbers(BY_HAND, "DEMO-", "reference")
    found = compare_books([], listed, {}, {}, lambda n: n.casefold() in by_hand, our_numbers("DEMO-", "reference", "-C"))
    assert [d.subject for d in found.differences] == ["number DEMO-ASDFGHJKL"]  # no order of that number was booked by hand


@pytest.mark.parametrize(
    ("prefix", "rule", "number", "ours"),
    [
        ("DEMO-", "reference", "DEMO-XKBKNABJK", True), ("DEMO-", "reference", "DEMO-XKBKNABJK-1041", True),
        ("DEMO-", "reference", "DEMO-XKBKNABJK-C12", True), ("DEMO-", "reference", "XKBKNABJK", False), ("DEMO-", "reference", "DEMO-123", False),
        ("", "reference", "XKBKNABJK", True), ("", "reference", "F2026-001", False), ("", "invoice_number", "4711", True),
        ("WEB", "id", "WEB1041", True), ("WEB", "id", "WEBSHOP", False),
    ],
)  # fmt: skip
def test_our_number_pattern(prefix, rule, number, ours):
    assert bool(our_numbers(prefix, rule, "-C").match(number)) is ours


def test_rotation_reads_its_share_never_read_ones_first():
    assert read_budget(9000, 30, 5000) == 300
    assert read_budget(9000, 30, 5000, unread_in_period=1000) == 1000  # yesterday's bookings: all of them
    assert read_budget(9000, 30, 200, unread_in_period=1000) == 200
    assert read_budget(0, 30, 5000) == 0
    old = dt.datetime(2026, 11, 1)
    candidates = [("A", old, DAY), ("B", None, DAY), ("C", dt.datetime(2026, 10, 1), DAY), ("D", None, dt.date(2026, 11, 1))]
    assert pick_for_reading(candidates, 3) == ["D", "B", "C"]


def test_read_for_the_rotation_outside_the_period():
    found = compare_read([booked(), booked("DEMO-BBBBBBBBB")], {"DEMO-ABCDEFGHI": None, "DEMO-BBBBBBBBB": whole("DEMO-BBBBBBBBB")})
    assert [(d.kind, d.sales_number) for d in found.differences] == [("missing_in_books", "DEMO-ABCDEFGHI")]


def test_a_payment_booked_by_us_and_by_hand_as_well():
    sale = booked()
    ours = {"DEMO-ABCDEFGHI": [{"state": "booked", "eb_id": 70, "amount": D("24.20")}]}
    listed = [InBooks("DEMO-ABCDEFGHI", 70, "2026-11-20", 3), InBooks("DEMO-ABCDEFGHI", 71, "2026-11-20", 3)]
    (twice,) = compare_payments({sale.sales_number: sale}, listed, ours, {1: D("24.20")}).differences
    assert (twice.kind, twice.booked, twice.shop) == ("paid_twice", D("24.20"), D("24.20"))
    assert compare_payments({sale.sales_number: sale}, listed[:1], ours, {}).differences == []
    assert compare_payments({sale.sales_number: sale}, listed[1:], {}, {}).differences == []  # paid by hand only (payments off): no difference


def test_a_split_payment_one_part_ours_one_worked_off_by_hand_is_not_paid_twice():
    sale = booked()
    ours = {"DEMO-ABCDEFGHI": [{"state": "booked", "eb_id": 70, "amount": D("14.20")}, {**paid_by_hand(), "amount": D("10.00")}]}
    listed = [InBooks("DEMO-ABCDEFGHI", 70, "2026-11-20", 3, D("14.20")), InBooks("DEMO-ABCDEFGHI", 71, "2026-11-20", 3, D("10.00"))]
    assert compare_payments({sale.sales_number: sale}, listed, ours, {1: D("24.20")}).differences == []
    again = [*listed, InBooks("DEMO-ABCDEFGHI", 72, "2026-11-21", 3, D("10.00"))]  # the bank import booked the 10.00 again
    (twice,) = compare_payments({sale.sales_number: sale}, again, ours, {1: D("24.20")}).differences
    assert (twice.kind, twice.books) == ("paid_twice", D("34.20"))
    other = [listed[0], InBooks("DEMO-ABCDEFGHI", 73, "2026-11-20", 3, D("24.20"))]  # not the amount worked off by hand
    assert [d.kind for d in compare_payments({sale.sales_number: sale}, other, ours, {1: D("24.20")}).differences] == ["paid_twice"]


PLAN = {"regime": "domestic", "rows": [
    {"ledger": "8000", "vat_code": "HOOG_VERK_21", "amount_incl": "12.10", "amount_excl": "10.00", "vat_rate": "21", "description": "Tea"},
    {"ledger": "8010", "vat_code": "LAAG_VERK_9", "amount_incl": "3.27", "amount_excl": "3.01", "vat_rate": "9", "description": "Honey"},
]}  # fmt: skip
OSS_PLAN = {"regime": "oss", "delivery_country": "DE", "rows": [
    {"ledger": "8300", "vat_code": "GEEN", "amount_incl": "10.00", "amount_excl": "10.00", "vat_rate": "19", "description": "Lamp"},
    {"ledger": "1630", "vat_code": "GEEN", "amount_incl": "1.90", "amount_excl": "0.00", "vat_rate": "19", "description": "VAT 19% Lamp"},
    {"ledger": "8300", "vat_code": "GEEN", "amount_incl": "20.00", "amount_excl": "20.00", "description": "Book"},
    {"ledger": "1630", "vat_code": "GEEN", "amount_incl": "1.40", "amount_excl": "0.00", "description": "VAT 7% Book"},
]}  # fmt: skip
OSS_LEDGERS = frozenset({"1630"})


def test_totals_side_by_side_per_regime_and_code():
    lines = [
        *vat_totals.plan_lines("shop", "order 1", PLAN, OSS_LEDGERS), *vat_totals.plan_lines("booked", "order 1", PLAN, OSS_LEDGERS, booked=True),
        *vat_totals.books_lines("order 1", [("8000", "HOOG_VERK_21", D("12.00"), D("9.92"), D("2.08")), ("8010", "LAAG_VERK_9", D("3.27"), D("3.00"), D("0.27"))], PLAN, OSS_LEDGERS),
        *vat_totals.plan_lines("shop", "order 2", OSS_PLAN, OSS_LEDGERS), *vat_totals.plan_lines("booked", "order 2", OSS_PLAN, OSS_LEDGERS, booked=True),
        vat_totals.total_line("shop", "order 3", D("5.00")),
    ]  # fmt: skip
    table = {(r["regime"], r["country"], r["vat_code"]): r for r in vat_totals.totals(lines)}
    high = table[("domestic", "", "HOOG_VERK_21")]
    assert (high["shop_incl"], high["booked_incl"], high["books_incl"], high["booked_minus_books"]) == ("12.10", "12.10", "12.00", "0.10")
    low = table[("domestic", "", "LAAG_VERK_9")]
    assert (low["shop_vat"], low["booked_vat"], low["shop_minus_booked"]) == ("0.26", "0.27", "0.00")  # the shop's VAT, and e-Boekhouden's on what we sent
    oss = table[("oss", "DE", "VAT_OSS")]
    assert (oss["shop_excl"], oss["shop_vat"], oss["books_docs"], oss["books_incl"]) == ("30.00", "3.30", 0, "0.00")
    none = table[("no breakdown", "", "—")]
    assert (none["shop_incl"], none["shop_excl"]) == ("5.00", None)
    total = table[("total", "", "")]
    assert (total["shop_docs"], total["shop_incl"], total["booked_incl"], total["books_incl"]) == (3, "53.67", "48.67", "15.27")


def test_the_vat_summary_per_return_line_and_oss_per_member_state():
    lines = [*vat_totals.plan_lines("booked", "order 1", PLAN, OSS_LEDGERS, booked=True), *vat_totals.plan_lines("booked", "order 2", OSS_PLAN, OSS_LEDGERS, booked=True)]
    summary = vat_totals.vat_summary(lines)
    assert [(r["line"], r["booked_turnover"], r["booked_vat"]) for r in summary["return"]] == [("1a", "10.00", "2.10"), ("1b", "3.00", "0.27")]
    (germany,) = summary["oss"]
    assert (germany["country"], germany["booked_turnover"], germany["booked_vat"]) == ("DE", "30.00", "3.30")
    assert [(r["rate"], r["booked_turnover"], r["booked_vat"]) for r in germany["rates"]] == [("19", "10.00", "1.90"), ("7", "20.00", "1.40")]  # an old plan's rate from its VAT row
