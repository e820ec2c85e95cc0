"""The hourly DAG end to end: PrestaShop emulator → real Airflow → e-Boekhouden emulator, exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN

from .conftest import ANCHOR, DEMO, all_history, customer, eb_fault, line, per_number, run_dag, sale_mutations, window, write_tenant

pytestmark = pytest.mark.airflow
HOURLY = "demo__orders_hourly"
D = Decimal


def order(sandbox, who: dict, lines: list[dict], *, at: str = "2026-11-20 10:30:00", state: int = 2, **extra) -> int:
    spec = {**who, "lines": lines, "state": state, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie", **extra}
    return int(sandbox.shop.create_order(spec)["id"])


def ledger_codes(sandbox) -> dict[int, str]:
    return {int(item["id"]): item["code"] for item in sandbox.books.ledgers()}


def test_the_exact_mutations_and_relations_e_boekhouden_receives(make_sandbox, state_store):
    sandbox = make_sandbox()
    klaartje = customer("klaartje.pietersen@example.nl", "Klaartje", "Pietersen")
    first = order(sandbox, klaartje, [line("Earl Grey 100 g", "6.95", quantity=2), line("Theepot", "24.95")], shipping_incl="3.95", shipping_rate="21")
    second = order(sandbox, klaartje, [line("Rooibos 100 g", "5.45", "9")], at="2026-11-20 10:45:00")
    business = order(
        sandbox, customer("inkoop@theehuis.be", "Els", "Peeters", company="Theehuis Gent BVBA", country="BE", vat_number="BE0428759497"),
        [line("Sencha 1 kg", "48.00", "0", quantity=3)], vat_exempt=True,
    )
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11))
    assert run.state == "success"

    booked = state_store.get_orders("demo", [first, second, business])
    assert {oid: row["state"] for oid, row in booked.items()} == {first: BOOKED, second: BOOKED, business: BOOKED}
    codes = ledger_codes(sandbox)
    mutations = {m["invoiceNumber"]: m for m in sale_mutations(sandbox)}
    assert set(mutations) == {row["sales_number"] for row in booked.values()}
    m1 = mutations[booked[first]["sales_number"]]
    assert (m1["type"], m1["inExVat"], m1["date"], codes[m1["ledgerId"]], m1["termOfPayment"]) == (2, "IN", "2026-11-20", "1300", 14)
    assert m1["description"] == f"{booked[first]['reference']} - iDEAL"
    assert [(codes[r["ledgerId"]], r["vatCode"], r["amount"]) for r in m1["rows"]] == [
        ("8000", "HOOG_VERK_21", D("13.90")),
        ("8000", "HOOG_VERK_21", D("24.95")),
        ("8000", "HOOG_VERK_21", D("3.95")),
    ]
    # e-Boekhouden's own total (it computes the VAT) equals what the customer paid, to the cent
    assert m1["amount"] == D("42.80") == booked[first]["amount_incl"]
    m2 = mutations[booked[second]["sales_number"]]
    assert [(codes[r["ledgerId"]], r["vatCode"], r["amount"]) for r in m2["rows"]] == [("8010", "LAAG_VERK_9", D("5.45"))]
    m3 = mutations[booked[business]["sales_number"]]
    assert [(codes[r["ledgerId"]], r["vatCode"], r["amount"]) for r in m3["rows"]] == [("8100", "BI_EU_VERK", D("144.00"))]

    relations = {r["id"]: r for r in sandbox.books.relations()}
    assert m1["relationId"] == m2["relationId"]  # the same new customer twice in a run: one relation
    klaartje_relation = relations[m1["relationId"]]
    assert klaartje_relation["code"] == "KlaartjePi5"  # KlaartjePi … KlaartjePi4 exist already
    assert (klaartje_relation["type"], klaartje_relation["name"], klaartje_relation["emailAddress"]) == ("P", "Klaartje Pietersen", "klaartje.pietersen@example.nl")
    theehuis = relations[m3["relationId"]]
    assert (theehuis["type"], theehuis["code"], theehuis["vatNumber"], theehuis["country"]) == ("B", "TheehuisGe", "BE0428759497", "BE")
    assert sandbox.books.relation_patches == []  # debtors are never modified


def test_returning_customer_is_matched_by_email_case_insensitively(make_sandbox, state_store):
    sandbox = make_sandbox()
    existing = sandbox.books.create_relation({"type": "P", "code": "JandeVries", "name": "Jan de Vries", "emailAddress": "j.devries@example.nl"})
    oid = order(sandbox, customer("J.deVries@Example.NL", "Jan", "de Vries"), [line("Darjeeling", "8.50")])
    before = len(sandbox.books.relations())
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert len(sandbox.books.relations()) == before
    (mutation,) = sale_mutations(sandbox)
    assert mutation["relationId"] == existing["id"]
    assert state_store.get_orders("demo", [oid])[oid]["relation_code"] == existing["code"]


def money_back(shop, slip: dict) -> Decimal:
    """What the customer got back, by PrestaShop's own rules (OrderRefundCalculator / OrderSlipCreator), from the slip and
    the order as the shop holds them: an oracle written apart from the booking code."""
    cents = Decimal("0.01")
    order = shop.order(int(slip["id_order"]))
    customer = shop.get("customers", int(order["id_customer"]))
    sees_excl = shop.get("groups", int(customer["id_default_group"]))["price_display_method"] == "1"
    products_incl, products_excl, amount = (Decimal(slip[k]) for k in ("total_products_tax_incl", "total_products_tax_excl", "amount"))
    seen = products_excl if sees_excl else products_incl
    if slip["order_slip_type"] == "2" and amount != seen:  # an amount chosen, in the unit the customer sees
        rates = {shop._detail_rate(shop.get("order_details", int(d["id_order_detail"]))) for d in slip["associations"]["order_slip_details"]}
        assert len(rates) == 1, "the seeded chosen amounts refund lines at one rate"
        back = amount * (1 + rates.pop() / 100) if sees_excl else amount
    elif slip["order_slip_type"] == "1" and not sees_excl:  # B2C: the voucher was taken off the excl total only
        back = products_incl - Decimal(order["total_discounts_tax_incl"])
    else:  # the lines (B2B type 1: the incl total is already less the voucher)
        back = products_incl
    return (back + Decimal(slip["total_shipping_tax_incl"])).quantize(cents)


def test_seeded_shop_every_order_in_one_state_and_booked_once(make_sandbox, state_store):
    sandbox = make_sandbox(orders=150, days_back=3)
    assert run_dag(HOURLY, conf=all_history()).state == "success"
    shop_orders = sandbox.shop.items("orders")
    stored = state_store.get_orders("demo", [int(o["id"]) for o in shop_orders])
    assert len(stored) == len(shop_orders)  # nothing lost: every order the shop has is in the store
    process = {2, 3, 4, 5, 11, 12}
    for o in shop_orders:
        row = stored[int(o["id"])]
        if int(o["current_state"]) not in process:
            assert row["state"] == OPEN and row["reason"].startswith("Waiting for a status to book"), row
        else:
            assert row["state"] in (BOOKED, ERROR), row
            assert row["state"] == BOOKED or row["reason"]
    booked = [r for r in stored.values() if r["state"] == BOOKED]
    slips = sandbox.shop.items("order_slip")
    credits = state_store.get_credits("demo", [s["id"] for s in slips])
    assert len(credits) == len(slips) >= 4  # the seeded credit slips are all in the store too
    booked_credits = [c for c in credits.values() if c["state"] == BOOKED]
    mutations = sale_mutations(sandbox)
    assert len(booked) > 60 and booked_credits and len(mutations) == len(booked) + len(booked_credits)
    assert set(per_number(mutations).values()) == {1}
    by_number = {m["invoiceNumber"]: m for m in mutations}
    for row in booked + booked_credits:  # e-Boekhouden's total of every sale (and credit, negative) equals the shop's
        assert by_number[row["sales_number"]]["amount"] == row["amount_incl"]
    for slip in slips:  # a booked credit gives back exactly what PrestaShop's slip says the customer got back
        row = credits[slip["id"]]
        if row["state"] == BOOKED:
            assert -row["amount_incl"] == money_back(sandbox.shop, slip), (sandbox.shop.slip_tags[slip["id"]], slip)
    expected = {
        "slip_order_unbooked": (OPEN, "Waiting for the order to be booked"),
        "slip_order_refused": (ERROR, "The order was refused: "),
        "slip_cent_mismatch": (ERROR, "Credit slip "),
        **{tag: (BOOKED, None) for tag in ("slip_full", "slip_lines", "slip_shipping", "slip_oss", "slip_partial_amount", "slip_voucher", "slip_chosen_amount", "slip_b2b", "slip_round_total")},
    }
    for slip_id, tags in sandbox.shop.slip_tags.items():
        for tag in tags & set(expected):
            state, reason = expected[tag]
            assert credits[slip_id]["state"] == state and (reason is None or credits[slip_id]["reason"].startswith(reason)), (tag, credits[slip_id]["reason"], sandbox.shop.get("order_slip", slip_id))
    errors = {r["error_code"] for r in stored.values() if r["state"] == ERROR}
    assert errors <= {"PRECHECK", "CONFIG"}
    tagged = sandbox.shop.tags
    for oid, row in stored.items():
        if "cent_mismatch" in tagged.get(oid, ()) and int(sandbox.shop.order(oid)["current_state"]) in process:
            assert row["state"] == ERROR and row["reason"].startswith("Order total")


def test_same_window_again_and_a_backfill_over_it_book_nothing_new(make_sandbox, state_store):
    sandbox = make_sandbox(orders=60, days_back=1)
    assert run_dag(HOURLY, conf=window(ANCHOR - dt.timedelta(days=2), ANCHOR)).state == "success"
    first = per_number(sale_mutations(sandbox))
    assert run_dag(HOURLY, conf=window(ANCHOR - dt.timedelta(days=2), ANCHOR)).state == "success"
    hour = ANCHOR - dt.timedelta(hours=30)
    while hour < ANCHOR:  # the backfill's hourly windows, each from its own data interval
        hour += dt.timedelta(hours=1)
        assert run_dag(HOURLY, hour=hour).state == "success"
    assert per_number(sale_mutations(sandbox)) == first


def test_answer_lost_after_commit_is_adopted_not_booked_twice(make_sandbox, state_store, eb_backend):
    sandbox = make_sandbox()
    oid = order(sandbox, customer("a@example.nl", "Anna", "Bos"), [line("Chai", "9.95")])
    eb_fault(sandbox, eb_backend, "create_mutation", action="drop_after_commit", times=1)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert row["state"] == BOOKED and row["reason"] == "Adopted the booking e-Boekhouden already had"
    assert per_number(sale_mutations(sandbox)) == {row["sales_number"]: 1}


@pytest.mark.parametrize("eb_backend", ["rest"], indirect=True)  # the REST API refuses a known number with a 400 MUT_019
@pytest.mark.parametrize("cut", [False, True], ids=["MUT_019", "MUT_019 cut off on the way"])
def test_a_sale_e_boekhouden_has_already_is_adopted_on_mut_019(make_sandbox, state_store, eb_backend, cut):
    sandbox = make_sandbox()
    oid = order(sandbox, customer("e@example.nl", "Eva", "Kok"), [line("Assam", "8.95")])
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    number = state_store.get_orders("demo", [oid])[oid]["sales_number"]
    with state_store.engine.begin() as db:  # the store lost the booking (e.g. restored from an older backup)
        db.execute(sa.text("DELETE FROM presta_eb_orders WHERE order_id = :oid"), {"oid": oid})
    if cut:  # e-Boekhouden's 400 arrives with its JSON cut in half: which check refused is unknown
        eb_fault(sandbox, eb_backend, "create_mutation", action="truncate", times=1)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert (row["state"], row["reason"]) == (BOOKED, "Adopted the booking e-Boekhouden already had")
    assert per_number(sale_mutations(sandbox)) == {number: 1}
    assert sum(sandbox.faults("eboekhouden").injected.values()) == (1 if cut else 0)


def test_two_500s_then_ok_books_once(make_sandbox, state_store, eb_backend):
    sandbox = make_sandbox()
    oid = order(sandbox, customer("b@example.nl", "Bram", "Smit"), [line("Oolong", "12.50")])
    eb_fault(sandbox, eb_backend, "create_mutation", action="status", status=500, times=2)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert row["state"] == BOOKED and row["attempts"] == 3
    assert per_number(sale_mutations(sandbox)) == {row["sales_number"]: 1}


@pytest.mark.parametrize("eb_backend", ["rest"], indirect=True)  # the REST API's 400 answer (SOAP refuses inside a 200: below)
def test_permanent_refusal_lands_in_errors_with_code_and_title_and_the_rest_books(make_sandbox, state_store, eb_backend):
    sandbox = make_sandbox()
    refused = order(sandbox, customer("c@example.nl", "Cor", "Visser"), [line("Matcha", "19.95")])
    fine = order(sandbox, customer("d@example.nl", "Dirk", "Mol"), [line("Genmaicha", "7.95")], at="2026-11-20 10:50:00")
    body = {"type": "validation", "code": "MUT_109", "title": "Invalid VAT code", "message": "The VAT code is not valid", "status": 400}
    eb_fault(sandbox, eb_backend, "create_mutation", action="status", status=400, body=body, times=1)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    rows = state_store.get_orders("demo", [refused, fine])  # the batch books in parallel: either one got the 400
    (error,) = [r for r in rows.values() if r["state"] == ERROR]
    assert error["error_code"] == "MUT_109" and error["reason"].startswith("MUT_109 Invalid VAT code") and error["intent_at"] is None
    assert [r["state"] for r in rows.values()].count(BOOKED) == 1
    assert len(sale_mutations(sandbox)) == 1


def test_a_debtor_e_boekhouden_refuses_sends_that_order_to_errors_and_the_rest_books(make_sandbox, state_store):
    sandbox = make_sandbox()
    refused = order(sandbox, customer("cor@visser", "Cor", "Visser"), [line("Matcha", "19.95")])  # no domain: REL_023
    fine = order(sandbox, customer("d@example.nl", "Dirk", "Mol"), [line("Genmaicha", "7.95")], at="2026-11-20 10:50:00")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    rows = state_store.get_orders("demo", [refused, fine])
    assert (rows[refused]["state"], rows[refused]["error_code"]) == (ERROR, "REL_023")
    assert rows[refused]["reason"].startswith("REL_023 Email is invalid.")
    assert rows[fine]["state"] == BOOKED and len(sale_mutations(sandbox)) == 1


def test_unreachable_e_boekhouden_fails_the_batch_and_a_clear_books_only_the_rest(make_sandbox, state_store, eb_backend):
    sandbox = make_sandbox()
    ids = [order(sandbox, customer(f"e{i}@example.nl", "Eva", f"Klant{i}"), [line("Jasmijn", "6.50")], at=f"2026-11-20 10:{10 + i}:00") for i in range(3)]
    eb_fault(sandbox, eb_backend, "create_mutation", action="status", status=503, after=1, times=None)
    failed = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11), retries=0)
    assert failed.state == "failed"
    rows = state_store.get_orders("demo", ids)
    assert sorted(r["state"] for r in rows.values()) == [BOOKED, OPEN, OPEN]
    assert all(r["intent_at"] is not None for r in rows.values() if r["state"] == OPEN)  # sent, answer unknown
    sandbox.clear_faults()
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"  # the rerun after clearing
    assert {r["state"] for r in state_store.get_orders("demo", ids).values()} == {BOOKED}
    assert set(per_number(sale_mutations(sandbox)).values()) == {1} and len(sale_mutations(sandbox)) == 3


def test_status_change_makes_an_open_order_bookable_in_its_new_hour(make_sandbox, state_store):
    sandbox = make_sandbox()
    oid = order(sandbox, customer("f@example.nl", "Fleur", "Jong"), [line("Pu-erh", "14.00")], state=10)
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert state_store.get_orders("demo", [oid])[oid]["state"] == OPEN
    sandbox.shop.update_order(oid, current_state=2, date_upd="2026-11-20 11:20:00")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12)).state == "success"
    assert state_store.get_orders("demo", [oid])[oid]["state"] == BOOKED


def test_reprocess_from_errors_after_fixing_the_vat_mapping(make_sandbox, state_store, tenants_dir):
    sandbox = make_sandbox()
    oid = order(sandbox, customer("g@example.fr", "Gilles", "Martin", country="FR", city="Lille"), [line("Thé vert", "12.00", "20")])
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert row["state"] == ERROR and row["reason"] == "No VAT mapping for 20% (delivery country FR) on line 1 'Thé vert'"
    write_tenant(tenants_dir, {"vat": {**DEMO["vat"], "oss": {"FR": {"20": {"vat_code": "VAT_OSS", "revenue_ledger": "8300", "vat_ledger": "1630"}}}}})
    assert run_dag(HOURLY, conf={"order_ids": [oid]}).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert row["state"] == BOOKED
    (mutation,) = sale_mutations(sandbox)
    codes = ledger_codes(sandbox)
    assert [(codes[r["ledgerId"]], r["vatCode"], r["amount"]) for r in mutation["rows"]] == [("8300", "GEEN", D("10.00")), ("1630", "GEEN", D("2.00"))]


def test_invoice_lines_without_sku_take_the_product_reference_read_in_one_batch(make_sandbox, state_store, tenants_dir, eb_backend):
    # issue 15 #11: a line whose SKU is empty gets the product's reference from the shop's products resource,
    # read once for all such lines of the batch (not once per line or per order)
    sandbox = make_sandbox()
    write_tenant(tenants_dir, {"eboekhouden": {"book_as": "invoice", "sales_number": "id", "sales_number_prefix": "SKU"}})
    who = customer("sku@example.nl", "Sanne", "Kok")
    first = order(sandbox, who, [{**line("Bureaulamp", "24.20"), "sku": "", "product_id": 9101, "product_reference": "LAMP-9101"}, line("Lepel", "4.50", sku="LP-1")])
    second = order(sandbox, who, [{**line("Vaas", "12.10"), "sku": "", "product_id": 9102, "product_reference": "VAAS-9102"}], at="2026-11-20 10:40:00")
    before = sandbox.shop.stats.count("GET", "products")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert sandbox.shop.stats.count("GET", "products") - before == 1
    items = {i["invoiceNumber"]: [it.get("code") for it in i["items"]] for i in sandbox.books.invoices() if str(i["invoiceNumber"]).startswith("SKU")}
    assert items == {f"SKU{first}": ["LAMP-9101", "LP-1"], f"SKU{second}": ["VAAS-9102"]}


def test_invoices_with_and_without_mutation(make_sandbox, state_store, tenants_dir, eb_backend):
    sandbox = make_sandbox()
    write_tenant(tenants_dir, {"eboekhouden": {"book_as": "invoice", "invoice_with_mutation": True, "sales_number": "id", "sales_number_prefix": "WEB"}})
    oid = order(sandbox, customer("h@example.nl", "Henk", "Bakker"), [line("Theedoos", "3.33", quantity=3, sku="TD-3"), line("Lepel", "4.50", sku="LP-1")])
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    row = state_store.get_orders("demo", [oid])[oid]
    assert row["state"] == BOOKED and row["eb_kind"] == "invoice" and row["eb_number"] == f"WEB{oid}"
    (invoice,) = [i for i in sandbox.books.invoices() if i["invoiceNumber"] == f"WEB{oid}"]
    # REST lines are incl VAT (inExVat IN); the SOAP API takes prices excl VAT: to six places, so 3 × 2.752066 × 1.21 is 9.99 again
    prices = {"rest": (D("3.33"), D("4.50")), "soap": (D("2.752066"), D("3.719008"))}[eb_backend]
    assert [(i["code"], i["quantity"], i["pricePerUnit"]) for i in invoice["items"]] == [("TD-3", D(3), prices[0]), ("LP-1", D(1), prices[1])]
    outstanding = {o["invoiceNumber"]: o for o in sandbox.books.outstanding()}
    assert outstanding[f"WEB{oid}"]["totalAmount"] == D("14.49") == row["amount_incl"]
    # the same order again books nothing more
    assert run_dag(HOURLY, conf={"order_ids": [oid]}).state == "success"
    assert len([i for i in sandbox.books.invoices() if i["invoiceNumber"] == f"WEB{oid}"]) == 1
