"""The reconciliation end to end, through real Airflow against the emulators (both e-Boekhouden backends): every kind of
difference, each once, and nothing written to the shop or e-Boekhouden (their request logs)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from prestashop_eboekhouden.schema import differences, reconcile_runs
from prestashop_eboekhouden.store_reconcile import ReconcileLedger
from tests.dags.test_daily_experience import smtp_server  # noqa: F401 - fixture

from .conftest import asset_events, customer, line, run_dag, write_tenant

pytestmark = pytest.mark.airflow
HOURLY, PAYMENTS, RECONCILE = "demo__orders_hourly", "demo__payments_daily", "demo__reconcile_daily"
H11, H12 = dt.datetime(2026, 11, 20, 11), dt.datetime(2026, 11, 20, 12)
NEXT_MORNING = dt.datetime(2026, 11, 21, 7)  # the daily run reconciles yesterday: 2026-11-20
D = Decimal
# what e-Boekhouden may be asked by a read-only run: its session, and reads
SOAP_READS = {"OpenSession", "CloseSession", "GetMutaties", "GetFacturen", "GetGrootboekrekeningen", "GetRelaties", "GetOpenPosten"}


def order(sandbox, name: str, price: str, *, at: str = "2026-11-20 10:30:00", updated: str | None = None, **extra) -> int:
    who = customer(f"{name.lower()}@example.nl", name, "Reconcile")
    spec = {**who, "lines": [line("Sencha", price)], "state": 2, "date_add": at, "date_upd": updated or at, "payment": "iDEAL", "module": "mollie", **extra}
    return int(sandbox.shop.create_order(spec)["id"])


def shop_writes(sandbox) -> list:
    return [key for key in sandbox.shop.stats.snapshot() if key[0] != "GET"]


def books_writes(sandbox, backend: str) -> list:
    if backend == "soap":
        return [key for key in sandbox.books.soap_stats.snapshot() if key[1].rsplit("/", 1)[-1] not in SOAP_READS]
    return [key for key in sandbox.books.stats.snapshot() if key[0] != "GET" and key[1] != "/v1/session"]


def stored_differences(store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(differences).order_by(differences.c.kind, differences.c.subject)).mappings()]


def test_every_kind_of_difference_once_and_nothing_written(make_sandbox, state_store, eb_backend, capsys):
    sandbox = make_sandbox()
    a = order(sandbox, "Anna", "20.00")  # the bookkeeper deletes its sale
    b = order(sandbox, "Bram", "21.00", at="2026-11-20 10:35:00")  # the bookkeeper changes its amount
    c = order(sandbox, "Cor", "22.00", at="2026-11-20 10:40:00")  # cancelled in the shop after booking
    d = order(sandbox, "Dirk", "23.00", at="2026-11-20 10:45:00")  # its total edited in the shop after booking
    e = order(sandbox, "Eva", "24.00", at="2026-11-20 10:15:00", updated="2026-11-19 23:00:00")  # date_upd before every window
    f = order(sandbox, "Fenna", "30.00", at="2026-11-20 10:50:00",  # paid, but its payment is refused (29.99 ≠ 30.00)
              payments=[{"amount": "29.99", "payment_method": "iDEAL", "transaction_id": "tr_f", "date_add": "2026-11-20 10:51:00"}])  # fmt: skip
    g = order(sandbox, "Gijs", "25.00", at="2026-11-20 09:10:00", updated="2026-11-20 10:10:00")  # a credit slip no run saw
    p = order(sandbox, "Pim", "26.00", at="2026-11-20 11:20:00")  # its payment booked by us, and by hand as well
    k = order(sandbox, "Kees", "27.00", at="2026-11-20 11:25:00")  # refunded with a slip, booked: no difference
    first = min(int(x["id"]) for x in sandbox.shop.order_details(k))
    kept = int(sandbox.shop.create_slip({"order": k, "date_add": "2026-11-20 11:40:00", "lines": [{"detail": first, "quantity": 1}]})["id"])
    for hour in (H11, H12):
        assert run_dag(HOURLY, hour=hour).state == "success"
    assert run_dag(PAYMENTS, hour=H12).state == "success"
    unseen = int(sandbox.shop.create_slip({"order": g, "date_add": "2026-11-20 09:30:00", "lines": [{"detail": min(int(x["id"]) for x in sandbox.shop.order_details(g))}]})["id"])
    rows = state_store.get_orders("demo", [a, b, c, d, e, f, g, p, k])
    assert {oid for oid, r in rows.items() if r["state"] == "booked"} == {a, b, c, d, f, g, p, k} and state_store.get_credits("demo", [kept])[kept]["state"] == "booked"
    numbers = {oid: r["sales_number"] for oid, r in rows.items() if r["sales_number"]}

    # what happens afterwards, in e-Boekhouden and in the shop
    sandbox.books.delete_mutation(rows[a]["eb_id"] or sandbox.books.mutations_numbered(numbers[a])[0]["id"])
    sale_b = next(m for m in sandbox.books.mutations_numbered(numbers[b]) if m["type"] == 2)
    sandbox.books.change_mutation(sale_b["id"], amount="12.00")
    sandbox.shop.update_order(c, current_state=6)  # Canceled
    sandbox.shop.update_order(d, total_paid_tax_incl=D("33.00"), total_paid=D("33.00"), total_paid_real=D("33.00"))
    debtor, bank = sandbox.books.ledger_by_code("1300"), sandbox.books.ledger_by_code("1100")
    sale_p = next(m for m in sandbox.books.mutations_numbered(numbers[p]) if m["type"] == 2)
    sandbox.books.create_mutation({  # a second integration writes a sale under this webshop's number pattern
        "type": 2, "date": "2026-11-20", "ledgerId": debtor["id"], "relationId": sale_p["relationId"], "invoiceNumber": "DEMO-QWERTYUIO",
        "inExVat": "IN", "rows": [{"ledgerId": sandbox.books.ledger_by_code("8000")["id"], "vatCode": "HOOG_VERK_21", "amount": "15.00"}],
    })  # fmt: skip
    sandbox.books.create_mutation({  # the bookkeeper books P's bank transfer by hand as well
        "type": 3, "date": "2026-11-20", "ledgerId": bank["id"], "relationId": sale_p["relationId"], "invoiceNumber": numbers[p], "inExVat": "IN",
        "rows": [{"amount": "26.00", "vatCode": "GEEN", "invoiceNumber": numbers[p], "relationId": sale_p["relationId"]}],
    })  # fmt: skip
    sandbox.shop.stats.reset()
    sandbox.books.stats.reset()
    sandbox.books.soap_stats.reset()

    before = len(asset_events("x-bookkeeping://demo/differences"))
    first = run_dag(RECONCILE, hour=NEXT_MORNING)
    assert first.state == "success"
    found = {(r["kind"], r["subject"]) for r in stored_differences(state_store)}
    assert found == {
        ("not_seen", f"order {e}"), ("not_seen", f"slip {unseen}"), ("cancelled_after_booking", f"order {c}"),
        ("changed_after_booking", f"order {d}"), ("missing_in_books", f"order {a}"), ("changed_in_books", f"order {b}"),
        ("unknown_in_books", "number DEMO-QWERTYUIO"), ("paid_not_booked", f"order {f}"), ("paid_twice", f"order {p}"),
    }  # fmt: skip
    by_kind = {r["kind"] + " " + r["subject"]: r for r in stored_differences(state_store)}
    assert (by_kind[f"changed_in_books order {b}"]["booked"], by_kind[f"changed_in_books order {b}"]["books"]) == (D("21.00"), D("12.00"))
    assert (by_kind[f"changed_after_booking order {d}"]["shop"], by_kind[f"changed_after_booking order {d}"]["booked"]) == (D("33.00"), D("23.00"))
    assert (by_kind[f"cancelled_after_booking order {c}"]["shop"], by_kind[f"cancelled_after_booking order {c}"]["booked"]) == (D("0.00"), D("22.00"))
    assert by_kind[f"missing_in_books order {a}"]["sales_number"] == numbers[a]
    assert by_kind["unknown_in_books number DEMO-QWERTYUIO"]["books"] == D("15.00")  # read whole: what it holds shows
    assert "refused" in by_kind[f"paid_not_booked order {f}"]["detail"] and "29.99" in by_kind[f"paid_not_booked order {f}"]["detail"]
    assert all(r["doc_date"] == dt.date(2026, 11, 20) and r["next_step"] for r in by_kind.values())
    assert shop_writes(sandbox) == [] and books_writes(sandbox, eb_backend) == []  # read only: nothing but the session was sent
    with state_store.engine.connect() as conn:
        run = conn.execute(sa.select(reconcile_runs)).mappings().one()
    assert (run["since"], run["until"], run["state"]) == (dt.date(2026, 11, 20), dt.date(2026, 11, 20), "done")
    assert run["summary"]["compared"]["not_yet"] == 0  # yesterday's bookings all compared in full
    total = run["totals"][-1]
    booked = sum(rows[o]["amount_incl"] for o in (a, b, c, d, f, g, p, k)) + state_store.get_credits("demo", [kept])[kept]["amount_incl"]
    assert (total["regime"], total["booked_incl"], total["booked_docs"]) == ("total", f"{booked:.2f}", 9)

    # again, on demand for the same day: each still once, nothing new
    assert run_dag(RECONCILE, conf={"since": "2026-11-20", "until": "2026-11-20"}, hour=NEXT_MORNING).state == "success"
    assert {(r["kind"], r["subject"]) for r in stored_differences(state_store)} == found
    # one asset event, from the run that found them: the run that found nothing new wakes no one downstream
    ((run_id, task_id, extra),) = asset_events("x-bookkeeping://demo/differences")[before:]
    assert (run_id, task_id, extra["kind"], extra["new"], extra["since"], extra["until"]) == (first.run_id, "reconcile", "differences", 9, "2026-11-20", "2026-11-20")
    assert sum(extra["kinds"].values()) == 9 and extra["dag_id"] == RECONCILE and extra["note"].startswith("Reconciled 2026-11-20: 9 differences")

    # the same from a shell, as JSON; read only, nothing recorded
    from prestashop_eboekhouden.setup import main

    capsys.readouterr()
    assert main(["reconcile", "demo", "--since", "2026-11-20", "--until", "2026-11-20", "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert {(x["kind"], x["order_id"]) for x in printed["differences"]} == {
        ("not_seen", e), ("not_seen", g), ("cancelled_after_booking", c), ("changed_after_booking", d), ("missing_in_books", a),
        ("changed_in_books", b), ("unknown_in_books", None), ("paid_not_booked", f), ("paid_twice", p),
    }  # fmt: skip
    assert set(printed["differences"][0]) >= {"kind", "order_id", "reference", "sales_number", "shop", "booked", "books", "next_step"}
    assert printed["totals"][-1]["regime"] == "total"
    with state_store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reconcile_runs)).scalar_one() == 2  # the shell's run was not recorded

    # the bookkeeper confirms A was deleted: Process books it again, and the next run no longer finds it missing
    assert ReconcileLedger(state_store).book_again("demo", [a], [], "test") == ([a], [])
    assert run_dag(HOURLY, conf={"order_ids": [a]}, hour=H12).state == "success"
    assert state_store.get_orders("demo", [a])[a]["state"] == "booked"
    assert run_dag(RECONCILE, hour=NEXT_MORNING).state == "success"
    now = {(r["kind"], r["subject"]): r for r in stored_differences(state_store)}
    assert now[("missing_in_books", f"order {a}")]["resolved_at"] is not None
    assert all(r["resolved_at"] is None for key, r in now.items() if key != ("missing_in_books", f"order {a}"))


def test_new_differences_are_e_mailed_once(make_sandbox, state_store, tenants_dir, smtp_server):
    """The reconcile task's notifier (notify.on: differences): a run that finds a difference mails it, with what to do
    and the Reconcile tab's link; the next run that finds only the same sends nothing."""
    write_tenant(tenants_dir, {"notify": {"email": ["boekhouding@shop.example"], "smtp_conn_id": "smtp_test", "dashboard_url": "https://airflow.shop.example"}})
    sandbox = make_sandbox()
    gone = order(sandbox, "Anna", "20.00")
    assert run_dag(HOURLY, hour=H11).state == "success"
    row = state_store.get_orders("demo", [gone])[gone]
    sandbox.books.delete_mutation(row["eb_id"] or sandbox.books.mutations_numbered(row["sales_number"])[0]["id"])
    first = run_dag(RECONCILE, hour=NEXT_MORNING)
    assert first.state == "success"
    ((to, message),) = smtp_server.messages
    assert to == ["boekhouding@shop.example"]
    # its sale deleted, and its payment (the shop marks it paid) not booked: the payments DAG has not run
    assert message["Subject"] == "[demo] 2 new differences between the shop, the books and e-Boekhouden (2026-11-20)"
    body = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert f"<td>Missing in e-Boekhouden</td><td>{gone}</td>" in body and "<td>Paid, payment not booked</td>" in body
    assert row["sales_number"] in body and "20.00" in body and "Confirm it here" in body
    assert 'href="https://airflow.shop.example/bookkeeping/tenants/demo/reconcile?since=2026-11-20&amp;until=2026-11-20"' in body
    assert f"https://airflow.shop.example/dags/{RECONCILE}/runs/{first.run_id}" in body
    assert run_dag(RECONCILE, conf={"since": "2026-11-20", "until": "2026-11-20"}, hour=NEXT_MORNING).state == "success"
    assert len(smtp_server.messages) == 1  # the same difference again: not new, no e-mail


def test_what_a_bookkeeper_booked_by_hand_is_no_difference(make_sandbox, state_store):
    """Errors worked off as "booked by hand" are the bookkeeper's bookings: an order refused by the prechecks and booked
    by hand under the number the integration would have given it is not "not ours"; a hand-edited credit slip booked by
    hand on a cancelled order is named in its difference — the shop states it refunded a cent more than the sale, so
    what was booked by hand is not taken as covering it (that would be a guess either way)."""
    sandbox = make_sandbox()
    r = order(sandbox, "Ruud", "40.00", total_adjustment="2.00")  # its total 2.00 off its lines: refused (PRECHECK)
    c = order(sandbox, "Cor", "22.00", at="2026-11-20 10:40:00")  # booked, then refunded with a hand-edited slip, cancelled
    assert run_dag(HOURLY, hour=H11).state == "success"
    detail = min(int(x["id"]) for x in sandbox.shop.order_details(c))
    slip = int(sandbox.shop.create_slip({"order": c, "date_add": "2026-11-20 11:30:00", "lines": [{"detail": detail}], "total_adjustment": "0.01"})["id"])
    assert run_dag(HOURLY, hour=H12).state == "success"
    refused, booked = state_store.get_orders("demo", [r])[r], state_store.get_orders("demo", [c])[c]
    assert (refused["state"], refused["error_code"], booked["state"]) == ("error", "PRECHECK", "booked")
    assert state_store.get_credits("demo", [slip])[slip]["state"] == "error"  # its total a cent off its lines: not booked on a guess
    sandbox.shop.update_order(c, current_state=6)  # Canceled

    # the bookkeeper books both by hand in e-Boekhouden, under the numbers the integration would have used, and says so
    debtor = sandbox.books.ledger_by_code("1300")
    sale_c = next(m for m in sandbox.books.mutations_numbered(booked["sales_number"]) if m["type"] == 2)
    number_r = f"DEMO-{refused['reference']}"
    sandbox.books.create_mutation({
        "type": 2, "date": "2026-11-20", "ledgerId": debtor["id"], "relationId": sale_c["relationId"], "invoiceNumber": number_r,
        "inExVat": "IN", "rows": [{"ledgerId": sandbox.books.ledger_by_code("8000")["id"], "vatCode": "HOOG_VERK_21", "amount": "42.00"}],
    })  # fmt: skip
    assert state_store.resolve("demo", "order", [r], "by_hand", "anna", f"booked as {number_r}") == [r]
    assert state_store.resolve("demo", "credit", [slip], "by_hand", "anna", "credit note of 22.01") == [slip]

    assert run_dag(RECONCILE, hour=NEXT_MORNING).state == "success"
    found = {(d["kind"], d["subject"]): d for d in stored_differences(state_store)}
    assert set(found) == {("cancelled_after_booking", f"order {c}")}  # no "not ours" for the sale booked by hand
    cent = found[("cancelled_after_booking", f"order {c}")]
    assert cent["booked"] == D("22.00")  # what the integration's own bookings leave of the sale
    assert cent["detail"].endswith(f"booked by hand: slip {slip} (the shop states 22.01; marked by anna)")
    assert cent["next_step"].startswith("Its credit slips booked by hand do not, as the shop states them, refund the 22.00")
