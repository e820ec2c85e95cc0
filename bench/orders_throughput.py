"""Books N sandbox orders through the real hook / operator code (no scheduler), with added latency per call.

For each N: a pass over new customers, then a pass of N more orders by the same (now known)
customers, a pass of N more orders by them booked from a fresh state store (known to e-Boekhouden,
new to the store), and — on a sample — the naive baseline of the same code path (one request per resource
per order, no caches, no concurrency). Prints orders/s, requests per order by API and endpoint,
peak RSS of the booking process and XCom bytes; writes bench/results/orders_throughput.json.

    .venv/bin/python bench/orders_throughput.py [--orders 1000 10000] [--latency-ms 20] [--naive-sample 300] [--backends rest soap]
        [--page-cap 500] [--namesakes 600]

--backends: e-Boekhouden's REST API and/or the legacy SOAP API (both by default; each on a fresh sandbox).
--page-cap N: the REST emulator answers at most N items per page whatever ``limit`` asks (a real client reports 500).
--namesakes N: instead of the passes above, N relations "Klaas Vaak" (KlaasVaak, KlaasVaak1, ...) are put in the
administration first, then --orders orders by as many *new* customers of that name are booked: every new debtor's
RelationCode is found past the first page of codes; checked afterwards: every order booked exactly once, one new
relation per customer, no two relations with one e-mail address or one code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import EB_TOKEN, PS_KEY, child_env, peak_rss_mb, run_child, sandbox_process, save, set_latency, table, write_tenant  # noqa: E402


def measure(since: str, until: str, naive: bool, limit: int | None) -> dict:
    """(child) extract → validate → book every batch, timed; the integration's own request counts."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.pipeline.orders import extract_window, validate
    from prestashop_eboekhouden.store import get_store

    config = get_tenant("bench")
    store = get_store()
    shop = PrestaShopHook("prestashop_bench", ids_per_request=1 if naive else 100, cache=not naive)
    eb = bookkeeping_api("eboekhouden_bench", pool_size=config.eboekhouden.concurrency)
    run_id = f"bench-{time.time()}"
    started = time.perf_counter()
    extracted = extract_window(config, shop, store, dt.datetime.fromisoformat(since), dt.datetime.fromisoformat(until), run_id)
    ids = extracted.to_process[:limit] if limit else extracted.to_process
    validated = validate(config, shop, store, ids, run_id)
    counts: Counter = Counter()
    xcom = [extracted.as_xcom(), validated.batches]
    for number, batch in enumerate(validated.batches):
        booker = SaleBooker(config, eb, store, f"bench/{run_id}/{number}", run_id, bulk_lookups=not naive)
        outcome = booker.book(batch, concurrency=1 if naive else None)
        counts.update(outcome.as_xcom())
        xcom.append(outcome.as_xcom())
    eb.close_session()
    seconds = time.perf_counter() - started
    handled = len(ids)
    return {
        "handled": handled, "booked": counts["booked"] + counts["adopted"], "refused": counts["refused"] + validated.refused,
        "relations_created": counts["relations_created"], "seconds": round(seconds, 2),
        "orders_per_s": round(handled / seconds, 1) if seconds else None,
        "prestashop": {f"{m} {r}": n for (m, r), n in sorted(shop.requests_made.items())},
        "eboekhouden": {f"{m} {r}": n for (m, r), n in sorted(eb.requests_made.items())},
        "ps_per_100": round(100 * sum(shop.requests_made.values()) / handled, 2) if handled else None,
        "eb_per_order": round(sum(eb.requests_made.values()) / handled, 3) if handled else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "xcom_bytes": sum(len(json.dumps(x)) for x in xcom),
    }


def add_returning_orders(urls: dict[str, str], count: int, at: str) -> None:
    """N more orders by customers whose earlier orders were booked (through the emulator's admin API)."""
    auth = (PS_KEY, "")
    orders = requests.get(
        f"{urls['prestashop']}/api/orders", params={"output_format": "JSON", "display": "[id,id_customer,current_state]", "filter[current_state]": "[2|3|4|5]"},
        auth=auth, timeout=60,
    ).json()["orders"]
    customers = sorted({int(o["id_customer"]) for o in orders})
    session = requests.Session()
    for i in range(count):
        spec = {
            "customer": {"id": customers[i % len(customers)]}, "state": 2, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie",
            "lines": [{"name": "Earl Grey 100 g", "sku": "EG-100", "quantity": 1 + i % 3, "tax_rate": "21", "unit_price_incl": "6.95"}],
        }
        session.post(f"{urls['prestashop']}/__sandbox__/orders", json=spec, timeout=30).raise_for_status()


def set_page_cap(urls: dict[str, str], page_cap: int | None) -> None:
    """The REST emulator's page cap (None: pages as long as limit asks)."""
    requests.put(f"{urls['eboekhouden']}/__sandbox__/settings", json={"page_cap": page_cap}, timeout=10).raise_for_status()


NAMESAKE = ("Klaas", "Vaak")  # code base KlaasVaak


def add_namesakes(urls: dict[str, str], count: int) -> None:
    """N relations with one name in the administration (KlaasVaak, KlaasVaak1, ...), through the REST API itself."""
    session = requests.Session()
    token = session.post(f"{urls['eboekhouden']}/v1/session", json={"accessToken": EB_TOKEN, "source": "BENCH"}, timeout=30).json()["token"]
    session.headers["Authorization"] = token
    base = "".join(NAMESAKE)
    for n in range(count):
        body = {"type": "P", "code": base + (str(n) if n else ""), "name": " ".join(NAMESAKE), "emailAddress": f"klaas{n}@example.org"}
        session.post(f"{urls['eboekhouden']}/v1/relation", json=body, timeout=30).raise_for_status()
    session.delete(f"{urls['eboekhouden']}/v1/session", timeout=30)


def add_namesake_orders(urls: dict[str, str], count: int, at: str) -> None:
    """N orders, each by a new customer named like the namesakes (through the emulator's admin API)."""
    session = requests.Session()
    first, last = NAMESAKE
    for i in range(count):
        spec = {
            "customer": {"email": f"klaas.nieuw{i}@example.org", "firstname": first, "lastname": last, "company": ""},
            "address": {"country": "NL", "firstname": first, "lastname": last, "company": "", "address1": "Dorpsstraat 1", "postcode": "1234 AB", "city": "Utrecht"},
            "state": 2, "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie",
            "lines": [{"name": "Earl Grey 100 g", "sku": "EG-100", "quantity": 1 + i % 3, "tax_rate": "21", "unit_price_incl": "6.95"}],
        }  # fmt: skip
        session.post(f"{urls['prestashop']}/__sandbox__/orders", json=spec, timeout=30).raise_for_status()


def check_namesakes(urls: dict[str, str], namesakes: int, orders: int) -> dict:
    """What the administration holds afterwards: every order's sale once, one relation per new customer, no duplicates."""
    relations = requests.get(f"{urls['eboekhouden']}/__sandbox__/relations", timeout=60).json()
    sales = [m for m in requests.get(f"{urls['eboekhouden']}/__sandbox__/mutations", timeout=60).json() if m["type"] == 2 and str(m["invoiceNumber"]).startswith("DEMO-")]
    base = "".join(NAMESAKE).casefold()
    mine = [r for r in relations if str(r["code"]).casefold().startswith(base)]
    emails = Counter(str(r["emailAddress"]).casefold() for r in relations if r["emailAddress"])
    codes = Counter(str(r["code"]).casefold() for r in relations)
    numbers = Counter(m["invoiceNumber"] for m in sales)
    return {
        "namesakes_before": namesakes, "namesakes_after": len(mine), "sales": len(sales), "sales_once": all(n == 1 for n in numbers.values()),
        "new_relations_ok": len(mine) == namesakes + orders, "duplicate_emails": sum(1 for n in emails.values() if n > 1),
        "duplicate_codes": sum(1 for n in codes.values() if n > 1),
    }


def namesake_scenario(orders: int, latency_ms: int, namesakes: int, page_cap: int | None, backend: str = "rest") -> list[dict]:
    """N orders by new customers whose name `namesakes` relations already carry."""
    with sandbox_process(0, days_back=1) as urls, tempfile.TemporaryDirectory() as tmp:
        tenants = Path(tmp) / "tenants"
        tenants.mkdir()
        write_tenant(tenants, eboekhouden={"concurrency": 8}, processing={"batch_size": 500})
        add_namesakes(urls, namesakes)
        add_namesake_orders(urls, orders, "2026-11-20 12:30:00")
        set_page_cap(urls, page_cap)
        set_latency(urls, latency_ms)
        measured = run_child("orders_throughput.py", ["--since", "2026-11-20T12:00:01", "--until", "2026-11-20T13:00:00"], child_env(urls, f"{tmp}/state.db", str(tenants), backend))
        set_latency(urls, 0)
        checked = check_namesakes(urls, namesakes, orders)
    label = f"{namesakes} namesakes, " + (f"pages of at most {page_cap}" if page_cap else "pages as asked")
    return [{"backend": backend, "orders": orders, "pass": label, "page_cap": page_cap, **measured, **checked}]


def scenario(orders: int, latency_ms: int, naive_sample: int, backend: str = "rest", page_cap: int | None = None) -> list[dict]:
    """New customers, returning customers and the naive baseline for one size, on one e-Boekhouden backend."""
    results = []
    with sandbox_process(orders, days_back=max(3, orders / 150)) as urls, tempfile.TemporaryDirectory() as tmp:
        set_page_cap(urls, page_cap)
        tenants = Path(tmp) / "tenants"
        tenants.mkdir()
        write_tenant(tenants, eboekhouden={"concurrency": 8}, processing={"batch_size": 500})
        everything = ("2000-01-01T00:00:00", "2026-11-20T12:00:01")
        # naive baseline first, on its own store and a sample of the orders (it is slow by design)
        set_latency(urls, latency_ms)
        naive_tenants = Path(tmp) / "naive-tenants"  # its own sales numbers, so the fast pass cannot adopt its bookings
        naive_tenants.mkdir()
        write_tenant(naive_tenants, eboekhouden={"concurrency": 1, "sales_number_prefix": "NAIVE-"}, processing={"batch_size": 500})
        naive = run_child(
            "orders_throughput.py", ["--since", everything[0], "--until", everything[1], "--naive", "--limit", str(naive_sample)],
            child_env(urls, f"{tmp}/naive.db", str(naive_tenants), backend),
        )
        results.append({"backend": backend, "orders": orders, "pass": "naive baseline (sample)", **naive})
        env = child_env(urls, f"{tmp}/state.db", str(tenants), backend)
        fast = run_child("orders_throughput.py", ["--since", everything[0], "--until", everything[1]], env)
        results.append({"backend": backend, "orders": orders, "pass": "new customers", **fast})
        set_latency(urls, 0)
        add_returning_orders(urls, orders, "2026-11-20 12:30:00")
        set_latency(urls, latency_ms)
        returning = run_child("orders_throughput.py", ["--since", "2026-11-20T12:00:01", "--until", "2026-11-20T13:00:00"], env)
        results.append({"backend": backend, "orders": orders, "pass": "returning customers", **returning})
        # the same customers once more, booked from a fresh state store: e-Boekhouden knows them, the store does not
        set_latency(urls, 0)
        add_returning_orders(urls, orders, "2026-11-20 13:30:00")
        set_latency(urls, latency_ms)
        fresh = run_child(
            "orders_throughput.py", ["--since", "2026-11-20T13:00:00", "--until", "2026-11-20T14:00:00"],
            child_env(urls, f"{tmp}/fresh-state.db", str(tenants), backend),
        )
        results.append({"backend": backend, "orders": orders, "pass": "returning, new to the store", **fresh})
    return [{**row, "page_cap": page_cap} for row in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--backends", nargs="+", choices=["rest", "soap"], default=["rest", "soap"])
    parser.add_argument("--page-cap", type=int, help="the REST emulator answers at most this many items per page (a real client reports 500)")
    parser.add_argument("--namesakes", type=int, help="book --orders orders by new customers whose name this many relations already carry")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.since, args.until, args.naive, args.limit)))
        return
    if args.namesakes is not None:
        namesakes(args)
        return
    results = [row for backend in args.backends for n in args.orders for row in scenario(n, args.latency_ms, args.naive_sample, backend, args.page_cap)]
    cap = f", e-Boekhouden pages of at most {args.page_cap} items" if args.page_cap else ""
    print(f"Orders through extract → validate → book, {args.latency_ms} ms added per API call, concurrency 8 (naive: 1){cap}:")
    print(table(results, [
        ("backend", "API"), ("orders", "seeded"), ("pass", "pass"), ("handled", "orders"), ("booked", "booked"), ("seconds", "s"), ("orders_per_s", "orders/s"),
        ("ps_per_100", "PS req/100"), ("eb_per_order", "EB req/order"), ("peak_rss_mb", "peak RSS MiB"), ("xcom_bytes", "XCom B"),
    ]))
    for backend in args.backends:
        mine = [r for r in results if r["backend"] == backend]
        for n in args.orders:
            rows = {r["pass"]: r for r in mine if r["orders"] == n}
            speedup = rows["new customers"]["orders_per_s"] / rows["naive baseline (sample)"]["orders_per_s"]
            print(f"{backend} N={n}: {speedup:.1f}x the naive baseline's orders/s")
        if len(args.orders) > 1:
            small, large = ({r["pass"]: r for r in mine if r["orders"] == n}["new customers"] for n in (min(args.orders), max(args.orders)))
            print(f"{backend}: peak RSS at {max(args.orders)} / at {min(args.orders)} orders: {large['peak_rss_mb'] / small['peak_rss_mb']:.2f}")
        print(f"\nRequests by endpoint ({backend}, new customers pass of the largest N):")
        largest = [r for r in mine if r["orders"] == max(args.orders) and r["pass"] == "new customers"][0]
        for api in ("prestashop", "eboekhouden"):
            for endpoint, count in largest[api].items():
                print(f"  {api:12} {endpoint:45} {count:>7}  ({count / largest['handled']:.3f} per order)")
    name = f"orders_throughput_cap{args.page_cap}" if args.page_cap else "orders_throughput"
    print(f"\nwritten to {save(name, {'latency_ms': args.latency_ms, 'page_cap': args.page_cap, 'results': results})}")


def namesakes(args: argparse.Namespace) -> None:
    """--namesakes: REST only (the page cap is the REST API's), capped as asked."""
    results = [row for n in args.orders for row in namesake_scenario(n, args.latency_ms, args.namesakes, args.page_cap)]
    print(f"Orders by new customers whose name {args.namesakes} relations already carry, {args.latency_ms} ms added per API call, concurrency 8:")
    print(table(results, [
        ("orders", "orders"), ("pass", "pass"), ("booked", "booked"), ("sales", "sales"), ("sales_once", "each once"),
        ("namesakes_after", "KlaasVaak* after"), ("duplicate_emails", "dup. e-mails"), ("duplicate_codes", "dup. codes"),
        ("seconds", "s"), ("orders_per_s", "orders/s"), ("eb_per_order", "EB req/order"),
    ]))
    for row in results:
        exact = row["booked"] == row["handled"] == row["sales"] == row["orders"] and row["sales_once"] and row["new_relations_ok"]
        clean = row["duplicate_emails"] == row["duplicate_codes"] == 0
        print(f"{row['orders']:,}/{row['handled']:,} booked {'exactly once' if exact else 'NOT exactly'}; {'no' if clean else 'SOME'} duplicate debtor")
        for endpoint, count in row["eboekhouden"].items():
            print(f"  eboekhouden  {endpoint:45} {count:>7}  ({count / row['handled']:.3f} per order)")
    name = f"orders_throughput_namesakes{args.namesakes}" + (f"_cap{args.page_cap}" if args.page_cap else "")
    print(f"\nwritten to {save(name, {'latency_ms': args.latency_ms, 'page_cap': args.page_cap, 'namesakes': args.namesakes, 'results': results})}")


if __name__ == "__main__":
    main()
