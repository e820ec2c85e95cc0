"""Screenshots of the dashboard's Reconcile tab in the real Airflow UI (a one-worker stack of tests/stack, headless
Chromium), with every kind of difference in it: one day's orders booked by the hourly DAG and their payments by the
payments DAG, then changed afterwards in e-Boekhouden and in the shop (the emulators' knobs, as tests/e2e/test_reconcile.py
does), reconciled by ``<tenant>__reconcile_daily`` for that day and for its quarter.

    .venv/bin/python scripts/screenshots_reconcile.py     # → test-artifacts/browser-reconcile/*.png (about 3 minutes)
"""

import datetime as dt
import json
import os
import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO)]
os.environ["PRESTA_EB_STATE_AUTO_MIGRATE"] = "1"  # a throwaway state store
from sandbox import SandboxServers  # noqa: E402
from tests.stack.conftest import local  # noqa: E402
from tests.stack.harness import ADMIN_PASSWORD, Stack, tenant_file  # noqa: E402

SHOTS = REPO / "test-artifacts" / "browser-reconcile"
SHOTS.mkdir(parents=True, exist_ok=True)
TENANT, PREFIX = "shop", "SH-"
HOURLY, PAYMENTS, RECONCILE = f"{TENANT}__orders_hourly", f"{TENANT}__payments_daily", f"{TENANT}__reconcile_daily"
DAY = dt.date(2026, 11, 20)
_START = dt.date(DAY.year, 3 * ((DAY.month - 1) // 3) + 1, 1)
_NEXT = dt.date(_START.year + _START.month // 10, (_START.month + 2) % 12 + 1, 1)  # the next quarter's first day
QUARTER = (_START, _NEXT - dt.timedelta(days=1))  # the day's quarter, first and last day
WAIT = 600  # seconds for a DAG run: the machine is shared


def order(sandbox, name: str, price: str, *, at: str = "2026-11-20 10:30:00", updated: str | None = None, **extra) -> int:
    """One order of one line (21 %), paid by iDEAL, in a status to book (as tests/e2e/test_reconcile.py makes them)."""
    spec = {
        "customer": {"email": f"{name.lower()}@example.nl", "firstname": name, "lastname": "Reconcile", "company": ""},
        "address": {"country": "NL", "firstname": name, "lastname": "Reconcile", "company": "", "address1": "Dorpsstraat 1", "postcode": "1234 AB",
                    "city": "Utrecht"},
        "lines": [{"name": "Sencha", "sku": "SENCHA", "quantity": 1, "tax_rate": "21", "unit_price_incl": price}],
        "state": 2, "date_add": at, "date_upd": updated or at, "payment": "iDEAL", "module": "mollie", **extra,
    }  # fmt: skip
    return int(sandbox.shop.create_order(spec)["id"])


def run(stack: Stack, dag_id: str, **kwargs) -> str:
    run_id = stack.trigger(dag_id, **kwargs)
    state = stack.wait_run(dag_id, run_id, timeout=WAIT)
    assert state == "success", f"{dag_id} {run_id}: {state}"
    print(f"{dag_id} {run_id}: {state}", flush=True)
    return run_id


def counts(stack: Stack, since: dt.date, until: dt.date) -> dict[str, int]:
    answer = stack.api("GET", f"/bookkeeping/api/tenants/{TENANT}/reconcile", params={"since": since.isoformat(), "until": until.isoformat()})
    assert answer.ok, f"{answer.status_code} {answer.text[:300]}"
    return {kind: n for kind, n in answer.json()["counts"].items() if n}


base = Path(tempfile.mkdtemp(prefix="presta-eb-shots-"))
sandbox = SandboxServers(seed=42, orders=0, anchor=dt.datetime(2026, 11, 20, 12)).start()
tenant = tenant_file(TENANT, PREFIX, prestashop={"admin_url": "https://shop.example/admin123ab"}, payments={"enabled": True})
stack = Stack(base=base, tenants={TENANT: tenant}, sandbox=sandbox, workers=1)
written: list[str] = []
try:
    stack.start()
    shop, books = sandbox.shop, sandbox.books
    a = order(sandbox, "Anna", "20.00")  # the bookkeeper deletes its sale → missing_in_books
    b = order(sandbox, "Bram", "21.00", at="2026-11-20 10:35:00")  # the bookkeeper changes its amount → changed_in_books
    c = order(sandbox, "Cor", "22.00", at="2026-11-20 10:40:00")  # cancelled in the shop after booking → cancelled_after_booking
    d = order(sandbox, "Dirk", "23.00", at="2026-11-20 10:45:00")  # its total edited in the shop after booking → changed_after_booking
    e = order(sandbox, "Eva", "24.00", at="2026-11-20 10:15:00", updated="2026-11-19 23:00:00")  # date_upd before every window → not_seen
    f = order(sandbox, "Fenna", "30.00", at="2026-11-20 10:50:00",  # its payment refused (29.99 ≠ 30.00) → paid_not_booked
              payments=[{"amount": "29.99", "payment_method": "iDEAL", "transaction_id": "tr_f", "date_add": "2026-11-20 10:51:00"}])  # fmt: skip
    g = order(sandbox, "Gijs", "25.00", at="2026-11-20 09:10:00", updated="2026-11-20 10:10:00")  # a credit slip no run saw → not_seen
    p = order(sandbox, "Pim", "26.00", at="2026-11-20 11:20:00")  # its payment booked by us and by hand as well → paid_twice
    k = order(sandbox, "Kees", "27.00", at="2026-11-20 11:25:00")  # refunded with a slip, booked: no difference
    first_line = min(int(x["id"]) for x in shop.order_details(k))
    shop.create_slip({"order": k, "date_add": "2026-11-20 11:40:00", "lines": [{"detail": first_line, "quantity": 1}]})
    for hour in (11, 12):  # the hours 10-11 and 11-12 of the day
        run(stack, HOURLY, hour_end=local(2026, 11, 20, hour))
    run(stack, PAYMENTS, hour_end=local(2026, 11, 21, 6))
    shop.create_slip({"order": g, "date_add": "2026-11-20 09:30:00", "lines": [{"detail": min(int(x["id"]) for x in shop.order_details(g))}]})
    rows = stack.state_store().get_orders(TENANT, [a, b, c, d, e, f, g, p, k])
    print("booked:", sorted(oid for oid, r in rows.items() if r["state"] == "booked"), flush=True)
    numbers = {oid: r["sales_number"] for oid, r in rows.items() if r["sales_number"]}

    # what happens afterwards, in e-Boekhouden and in the shop
    books.delete_mutation(rows[a]["eb_id"] or books.mutations_numbered(numbers[a])[0]["id"])
    books.change_mutation(next(m for m in books.mutations_numbered(numbers[b]) if m["type"] == 2)["id"], amount="12.00")
    shop.update_order(c, current_state=6)  # Canceled
    shop.update_order(d, total_paid_tax_incl=Decimal("33.00"), total_paid=Decimal("33.00"), total_paid_real=Decimal("33.00"))
    debtor, bank = books.ledger_by_code("1300"), books.ledger_by_code("1100")
    sale_p = next(m for m in books.mutations_numbered(numbers[p]) if m["type"] == 2)
    books.create_mutation({  # a second integration writes a sale under this webshop's number pattern → unknown_in_books
        "type": 2, "date": DAY.isoformat(), "ledgerId": debtor["id"], "relationId": sale_p["relationId"], "invoiceNumber": f"{PREFIX}QWERTYUIO",
        "inExVat": "IN", "rows": [{"ledgerId": books.ledger_by_code("8000")["id"], "vatCode": "HOOG_VERK_21", "amount": "15.00"}],
    })  # fmt: skip
    books.create_mutation({  # the bookkeeper books P's bank transfer by hand as well
        "type": 3, "date": DAY.isoformat(), "ledgerId": bank["id"], "relationId": sale_p["relationId"], "invoiceNumber": numbers[p], "inExVat": "IN",
        "rows": [{"amount": "26.00", "vatCode": "GEEN", "invoiceNumber": numbers[p], "relationId": sale_p["relationId"]}],
    })  # fmt: skip

    run(stack, RECONCILE, conf={"since": DAY.isoformat(), "until": DAY.isoformat()})
    run(stack, RECONCILE, conf={"since": QUARTER[0].isoformat(), "until": QUARTER[1].isoformat()})
    day_counts, quarter_counts = counts(stack, DAY, DAY), counts(stack, *QUARTER)
    one_kind = "changed_in_books" if "changed_in_books" in day_counts else next(iter(day_counts))

    from playwright.sync_api import sync_playwright
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=flags)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.set_default_timeout(120_000)
        page.goto(stack.url + "/")
        page.wait_for_url(re.compile(r".*/auth/login.*"))
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(stack.url + "/")

        def shot(name: str, since: dt.date, until: dt.date, kind: str | None = None, clip_from: str | None = None) -> None:
            query = f"since={since}&until={until}" + (f"&kind={kind}" if kind else "")
            page.goto(f"{stack.url}/bookkeeping/tenants/{TENANT}/reconcile?{query}")
            page.wait_for_selector("#differences")
            assert page.locator("#differences tr[data-kind]").count() > 0, f"{name}: no differences shown ({page.url})"
            path = SHOTS / name
            if clip_from:  # from this element down to the end of the page
                top = page.locator(clip_from).first.evaluate("e => e.getBoundingClientRect().top + window.scrollY")
                height = page.evaluate("document.documentElement.scrollHeight")
                page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": top - 10, "width": 1400, "height": height - top + 10})
            else:
                page.screenshot(path=str(path), full_page=True)
            written.append(str(path.relative_to(REPO)))

        shot("01-reconcile-day.png", DAY, DAY)
        shot(f"02-reconcile-day-{one_kind}.png", DAY, DAY, kind=one_kind)
        shot("03-reconcile-day-totals-vat.png", DAY, DAY, clip_from="h3:has-text('Totals per VAT code')")
        shot(f"04-reconcile-quarter-{QUARTER[0]}-{QUARTER[1]}.png", *QUARTER)
        browser.close()
    print(json.dumps({"day": {"since": str(DAY), "until": str(DAY), "counts": day_counts, "total": sum(day_counts.values())},
                      "quarter": {"since": str(QUARTER[0]), "until": str(QUARTER[1]), "counts": quarter_counts, "total": sum(quarter_counts.values())}},
                     indent=2))  # fmt: skip
    print("written:", *written, sep="\n  ")
finally:
    stack.stop()
    sandbox.stop()
