"""The reconciliation's part of the state store: each difference once across runs, resolved when a run looks again and
no longer finds it, opened again when it comes back (new for the notifier); book again only what is missing; the e-mail
and the run's period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pendulum
import pytest

from prestashop_eboekhouden.domain.reconcile import Difference, Found
from prestashop_eboekhouden.notify_reconcile import compose_differences
from prestashop_eboekhouden.operators.reconcile import reconcile_period
from prestashop_eboekhouden.operators.tasks import CannotRun
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.store_reconcile import ReconcileLedger

DAY = dt.date(2026, 11, 20)
D = Decimal


@pytest.fixture
def ledger(tmp_path):
    return ReconcileLedger(StateStore(f"sqlite:///{tmp_path / 'state.db'}"))


def found(*differences: Difference, looked: tuple[str, ...] = ()) -> Found:
    result = Found()
    for d in differences:
        result.add(d)
        result.looked_at([d.kind], d.subject)
    for subject in looked:
        result.looked_at(["not_seen", "changed_in_books"], subject)
    return result


def diff(kind: str, subject: str, booked: str | None = "24.20") -> Difference:
    return Difference(kind, subject, DAY, int(subject.split()[-1]) if subject.startswith("order") else None, None, "REF", "S-1", None, D(booked) if booked else None, None, "what", "next")


def run(ledger: ReconcileLedger, result: Found) -> tuple[int, dict]:
    number = ledger.start("demo", DAY, DAY, "demo__reconcile_daily", f"run-{id(result)}")
    return number, ledger.finish(number, "demo", result, {}, [], {})


def test_each_difference_once_resolved_and_opened_again(ledger):
    first, counts = run(ledger, found(diff("not_seen", "order 1"), diff("changed_in_books", "order 2")))
    assert counts == {"new": 2, "resolved": 0, "found": 2}
    second, counts = run(ledger, found(diff("not_seen", "order 1"), diff("changed_in_books", "order 2", "25.00")))
    assert counts == {"new": 0, "resolved": 0, "found": 2}
    assert [r["subject"] for r in ledger.new_in_run("demo", second)] == []
    # a run that did not read order 2 again leaves it open; one that looked at order 1 and no longer found it resolves it
    third, counts = run(ledger, found(looked=("order 1",)))
    assert counts == {"new": 0, "resolved": 1, "found": 0}
    with ledger.engine.connect() as conn:
        from sqlalchemy import select

        from prestashop_eboekhouden.schema import differences

        rows = {r["subject"]: r for r in conn.execute(select(differences)).mappings()}
    assert rows["order 1"]["resolved_at"] is not None and rows["order 2"]["resolved_at"] is None
    assert rows["order 2"]["booked"] == D("25.00") and rows["order 2"]["first_run"] == first and rows["order 2"]["last_run"] == second
    fourth, counts = run(ledger, found(diff("not_seen", "order 1")))
    assert counts["new"] == 1 and [r["subject"] for r in ledger.new_in_run("demo", fourth)] == ["order 1"]  # it came back


def test_book_again_only_a_sale_with_an_open_missing_difference(ledger):
    store = ledger.store
    store.record_seen("demo", [{"order_id": o, "reference": f"R{o}", "shop_status": 2, "date_upd": None, "order_date": DAY} for o in (1, 2)])
    store.save_plans("demo", [{"order_id": o, "sales_number": f"S-{o}", "total_incl": "1.00", "total_excl": "1.00", "rows": []} for o in (1, 2)])
    for o in (1, 2):
        store.order_claims.claim("demo", o, "t")
        store.order_claims.booked("demo", o, "t", "r", eb_kind="mutation", eb_id=10 + o, eb_number=f"S-{o}")
    run(ledger, found(diff("missing_in_books", "order 1"), diff("changed_in_books", "order 2")))
    assert ledger.book_again("demo", [1, 2, 3], [], "anna") == ([1], [])
    row = store.get_orders("demo", [1, 2])
    assert (row[1]["state"], row[1]["eb_id"], row[1]["plan"]["sales_number"]) == ("open", None, "S-1")
    assert row[1]["reason"].startswith("Deleted in e-Boekhouden (confirmed by anna on ")
    assert row[2]["state"] == "booked"
    assert ledger.book_again("demo", [1], [], "anna") == ([], [])  # once


def test_the_e_mail_names_each_new_difference_and_links_the_tab():
    rows = [{"kind": "missing_in_books", "order_id": 1041, "slip_id": None, "reference": "XKBKNABJK", "sales_number": "DEMO-XKBKNABJK",
             "shop": None, "booked": D("42.80"), "books": None, "detail": "Booked by us", "next_step": "Deleted in e-Boekhouden? Confirm it here"}]  # fmt: skip
    subject, body = compose_differences("demo", rows, base="https://airflow.example", dag_id="demo__reconcile_daily", run_id="r1", since="2026-11-20", until="2026-11-20")
    assert subject == "[demo] 1 new difference between the shop, the books and e-Boekhouden (2026-11-20)"
    assert "<td>Missing in e-Boekhouden</td><td>1041</td><td>XKBKNABJK</td><td>DEMO-XKBKNABJK</td><td></td><td>42.80</td>" in body
    assert "https://airflow.example/bookkeeping/tenants/demo/reconcile?since=2026-11-20&amp;until=2026-11-20" in body


@pytest.mark.parametrize(
    ("params", "logical", "period"),
    [
        ({}, "2026-11-21T06:00:00+00:00", (DAY, DAY)),  # 07:00 in Amsterdam: yesterday
        ({}, "2026-11-20T23:30:00+00:00", (dt.date(2026, 11, 20), dt.date(2026, 11, 20))),  # already the 21st in Amsterdam
        ({"since": "2026-10-01", "until": "2026-12-31"}, None, (dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
        ({"since": "2026-11-20"}, None, (DAY, DAY)),
    ],
)
def test_the_runs_period(params, logical, period):
    config = SimpleNamespace(tz=pendulum.timezone("Europe/Amsterdam"))
    context = {"params": params, "logical_date": pendulum.parse(logical) if logical else None}
    assert reconcile_period(context, config) == period


@pytest.mark.parametrize("params", [{"since": "2026-12-01", "until": "2026-11-01"}, {"since": "last week"}, {"since": "2024-01-01", "until": "2026-01-01"}])
def test_a_period_it_cannot_use_fails_at_once(params):
    with pytest.raises(CannotRun):
        reconcile_period({"params": params}, SimpleNamespace(tz=pendulum.timezone("Europe/Amsterdam")))


def test_a_slip_worked_off_by_hand_credits_its_cancelled_order(ledger):
    """The store gives the reconciliation how a slip was worked off: a slip in Errors the bookkeeper booked by hand
    credits the cancelled order at the shop's refund; dismissed, it does not."""
    from prestashop_eboekhouden.domain.reconcile import ShopOrder, compare_shop

    store = ledger.store
    store.record_seen("demo", [{"order_id": 11, "reference": "REFELEVEN", "shop_status": 2, "date_upd": dt.datetime(2026, 11, 20, 10), "order_date": DAY}], "seed")
    store.save_plans("demo", [{"order_id": 11, "sales_number": "DEMO-REFELEVEN", "total_incl": "48.40", "total_excl": "40.00", "rows": []}], "seed")
    store.order_claims.claim("demo", 11, "seed")
    store.order_claims.booked("demo", 11, "seed", "seed", eb_kind="mutation", eb_id=9011, eb_number="DEMO-REFELEVEN", relation_code="JAN")
    store.set_order_facts("demo", {11: {"amount_incl": D("48.40")}})
    slips = [{"slip_id": s, "order_id": 11, "reference": "REFELEVEN", "slip_date": DAY, "date_upd": dt.datetime(2026, 11, 20, 11)} for s in (701, 702)]
    store.record_slips("demo", slips, "seed")
    store.set_credit_errors("demo", {s: ("PrestaShop's totals disagree with its lines; book this refund by hand", "BY_HAND") for s in (701, 702)}, "seed")
    store.set_credit_amounts("demo", {701: D("-40.00"), 702: D("-8.40")})
    assert store.resolve("demo", "credit", [701], "by_hand", "anna", "credit note 2026-117") == [701]
    assert store.resolve("demo", "credit", [702], "dismissed", "anna") == [702]
    cancelled = ShopOrder(11, "REFELEVEN", 6, "Canceled", False, DAY, dt.datetime(2026, 11, 21, 9), D("48.40"))

    def differences():
        stored = store.get_orders("demo", [11])
        return compare_shop([cancelled], [], stored, {}, ledger.credits_of_orders("demo", [11]), {}, process=frozenset({2}), payments=False, hourly_dag="h").differences

    (left,) = differences()  # 40.00 booked by hand, 8.40 dismissed: the shop's slips by hand do not refund the sale
    assert (left.kind, left.booked) == ("cancelled_after_booking", D("48.40"))
    assert left.detail.endswith("booked by hand: slip 701 (the shop states 40.00; marked by anna)")
    store.record_slips("demo", [{"slip_id": 703, "order_id": 11, "reference": "REFELEVEN", "slip_date": DAY, "date_upd": dt.datetime(2026, 11, 21, 12)}], "seed")
    store.set_credit_errors("demo", {703: ("book this refund by hand", "BY_HAND")}, "seed")
    store.set_credit_amounts("demo", {703: D("-8.40")})
    store.resolve("demo", "credit", [703], "by_hand", "piet")
    assert differences() == []


def test_the_payments_of_a_number_say_which_were_booked_by_hand(ledger):
    store = ledger.store
    rows = [{"payment_id": pid, "order_id": 12, "reference": "REFTWELVE", "sales_number": "DEMO-REFTWELVE", "amount": amount, "method": "Bank wire",
             "transaction_id": f"TX{pid}", "payment_date": dt.datetime(2026, 11, 22, 8)} for pid, amount in ((801, D("14.20")), (802, D("10.00")))]  # fmt: skip
    store.record_payments("demo", rows, "seed")
    store.set_payment_errors("demo", {802: ("No outstanding item of 10.00 for DEMO-REFTWELVE in e-Boekhouden", "OUTSTANDING")}, "seed")
    assert store.resolve("demo", "payment", [802], "by_hand", "anna") == [802]
    listed = {p["payment_id"]: (p["state"], p["resolution"], p["amount"]) for p in ledger.payments_by_number("demo", ["DEMO-REFTWELVE"])["DEMO-REFTWELVE"]}
    assert listed == {801: ("open", None, D("14.20")), 802: ("resolved", "by_hand", D("10.00"))}
