"""How often e-Boekhouden's own VAT equals the VAT the shop charged, when sales are booked per line incl VAT.

Sales go to e-Boekhouden per order line with ``inExVat: IN`` (as the manual does): the total incl VAT
is exact by construction, and e-Boekhouden computes each row's VAT itself from that amount and the
VAT code. That VAT may differ by a cent from the shop's line VAT (the shop rounds excl, e-Boekhouden
rounds the VAT). This books the sandbox's seeded orders through the real hook and pipeline code into
the e-Boekhouden REST emulator and compares, per order and per row:

- e-Boekhouden's VAT of the sale (its computed row VAT, plus the OSS rows booked on a VAT ledger)
  with the shop's VAT (total_paid_tax_incl − total_paid_tax_excl);
- each row's computed VAT with the shop's VAT of that line.

Prints the counts and the largest differences; writes bench/results/vat_cents.json.

    .venv/bin/python bench/vat_cents.py [--orders 1000] [--seed 42]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import PS_KEY, child_env, run_child, sandbox_process, save, table, write_tenant  # noqa: E402

EVERYTHING = ("2000-01-01T00:00:00", "2026-11-20T12:00:01")
ZERO = Decimal("0.00")


def book_all() -> dict:
    """(child) extract → validate → book every seeded order; the booked plans by sales number."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.pipeline.orders import extract_window, validate
    from prestashop_eboekhouden.store import BOOKED, get_store

    config = get_tenant("bench")
    store = get_store()
    shop = PrestaShopHook("prestashop_bench")
    eb = bookkeeping_api("eboekhouden_bench", pool_size=config.eboekhouden.concurrency)
    run_id = f"vat-cents-{time.time()}"
    extracted = extract_window(config, shop, store, dt.datetime.fromisoformat(EVERYTHING[0]), dt.datetime.fromisoformat(EVERYTHING[1]), run_id)
    validated = validate(config, shop, store, extracted.to_process, run_id)
    for number, batch in enumerate(validated.batches):
        SaleBooker(config, eb, store, f"vat/{run_id}/{number}", run_id).book(batch)
    eb.close_session()
    booked = [row for row in store.get_orders(config.tenant, extracted.to_process).values() if row["state"] == BOOKED]
    vat_ledgers = sorted({m.vat_ledger for rates in config.vat.oss.values() for m in rates.values() if m.vat_ledger})
    return {
        "vat_ledgers": vat_ledgers,
        "refused": validated.refused,
        "booked": [{"order_id": row["order_id"], "sales_number": row["sales_number"], "plan": row["plan"]} for row in booked],
    }


def _exact(response: requests.Response) -> object:
    """A JSON answer with its numbers as exact Decimals (never through float)."""
    response.raise_for_status()
    return json.loads(response.text, parse_float=Decimal)


def compare(urls: dict[str, str], booked: dict) -> dict:
    """Per order and per row: e-Boekhouden's computed VAT against the shop's."""
    shop_orders = requests.get(
        f"{urls['prestashop']}/api/orders", auth=(PS_KEY, ""), timeout=120,
        params={"output_format": "JSON", "display": "[id,total_paid_tax_incl,total_paid_tax_excl]"},
    ).json()["orders"]
    shop_incl = {int(o["id"]): Decimal(o["total_paid_tax_incl"]).quantize(Decimal("0.01")) for o in shop_orders}
    shop_vat = {int(o["id"]): Decimal(o["total_paid_tax_incl"]).quantize(Decimal("0.01")) - Decimal(o["total_paid_tax_excl"]).quantize(Decimal("0.01")) for o in shop_orders}
    ledgers = {int(item["id"]): item["code"] for item in _exact(requests.get(f"{urls['eboekhouden']}/__sandbox__/ledgers", timeout=60))}
    mutations = {m["invoiceNumber"]: m for m in _exact(requests.get(f"{urls['eboekhouden']}/__sandbox__/mutations", timeout=120)) if m["type"] == 2}
    vat_ledgers = set(booked["vat_ledgers"])
    orders = equal = rows = rows_equal = totals_equal = 0
    order_diffs: Counter = Counter()
    row_diffs: Counter = Counter()
    differing_kinds: Counter = Counter()
    largest_order: tuple[Decimal, str] = (ZERO, "")
    largest_row: tuple[Decimal, str] = (ZERO, "")
    for item in booked["booked"]:
        mutation = mutations.get(item["sales_number"])
        if mutation is None:
            continue
        orders += 1
        totals_equal += Decimal(str(mutation["amount"])) == shop_incl[item["order_id"]]
        oss_vat = sum((Decimal(str(r["amount"])) for r in mutation["rows"] if ledgers.get(int(r["ledgerId"])) in vat_ledgers), ZERO)
        eb_vat = Decimal(str(mutation["totalVat"])) + oss_vat
        diff = eb_vat - shop_vat[item["order_id"]]
        order_diffs[str(diff if diff else ZERO)] += 1
        equal += diff == 0
        if abs(diff) > abs(largest_order[0]):
            largest_order = (diff, item["sales_number"])
        for planned, got in zip(item["plan"]["rows"], mutation["rows"], strict=False):  # pairs in booking order
            if ledgers.get(int(got["ledgerId"])) in vat_ledgers:
                continue  # an OSS VAT row: booked as is, without e-Boekhouden VAT
            rows += 1
            line_vat = Decimal(planned["amount_incl"]) - Decimal(planned["amount_excl"])
            row_diff = Decimal(str(got["vatAmount"])) - line_vat
            row_diffs[str(row_diff if row_diff else ZERO)] += 1
            rows_equal += row_diff == 0
            if row_diff:
                word = planned["description"].split(" ")[0]
                differing_kinds[word if word in ("Discount", "Shipping", "Surcharge") else "product line"] += 1
            if abs(row_diff) > abs(largest_row[0]):
                largest_row = (row_diff, f"{item['sales_number']} '{planned['description'][:30]}'")
    return {
        "orders_booked": orders, "orders_total_equal": totals_equal, "orders_vat_equal": equal, "orders_vat_differs": orders - equal,
        "largest_order_difference": str(largest_order[0]), "largest_order_difference_at": largest_order[1],
        "order_differences": dict(sorted(order_diffs.items(), key=lambda kv: Decimal(kv[0]))),
        "rows": rows, "rows_vat_equal": rows_equal, "rows_vat_differs": rows - rows_equal,
        "largest_row_difference": str(largest_row[0]), "largest_row_difference_at": largest_row[1],
        "row_differences": dict(sorted(row_diffs.items(), key=lambda kv: Decimal(kv[0]))),
        "differing_rows_by_kind": dict(differing_kinds.most_common()),
        "refused_by_prechecks": booked["refused"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(book_all(), default=str))
        return
    with sandbox_process(args.orders, days_back=max(3, args.orders / 150), seed=args.seed) as urls, tempfile.TemporaryDirectory() as tmp:
        tenants = Path(tmp) / "tenants"
        tenants.mkdir()
        write_tenant(tenants, processing={"batch_size": 500})
        booked = run_child("vat_cents.py", [], child_env(urls, f"{tmp}/state.db", str(tenants)))
        result = {"seeded": args.orders, "seed": args.seed, **compare(urls, booked)}
    print(f"Seeded orders ({args.orders}, seed {args.seed}) booked per line incl VAT (inExVat IN) into the e-Boekhouden REST emulator:")
    print(table([result], [
        ("orders_booked", "orders booked"), ("orders_total_equal", "total incl = shop's"), ("orders_vat_equal", "VAT = shop's"), ("orders_vat_differs", "VAT differs"),
        ("largest_order_difference", "largest diff"), ("rows", "rows"), ("rows_vat_equal", "row VAT = line's"),
        ("rows_vat_differs", "row VAT differs"), ("largest_row_difference", "largest row diff"),
    ]))
    print(f"order VAT differences (e-Boekhouden − shop → orders): {result['order_differences']}")
    print(f"row VAT differences (e-Boekhouden − shop line → rows): {result['row_differences']}")
    print(f"differing rows by kind: {result['differing_rows_by_kind']}")
    if result["largest_order_difference_at"]:
        print(f"largest order difference at {result['largest_order_difference_at']}; largest row difference at {result['largest_row_difference_at']}")
    print(f"written to {save('vat_cents', result)}")


if __name__ == "__main__":
    main()
