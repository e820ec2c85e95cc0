"""Books N sandbox orders through the real hook / operator code (no scheduler), with added latency per call.

For each N: a pass over new customers, then a pass of N more orders by the same (now known)
customers, a pass of N more orders by them booked from a fresh state store (known to e-Boekhouden,
new to the store), and — on a sample — the naive baseline of the same code path (one request per resource
per order, no caches, no concurrency). Prints orders/s, requests per order by API and endpoint,
peak RSS of the booking process and XCom bytes; writes bench/results/orders_throughput.json.

    .venv/bin/python bench/orders_throughput.py [--orders 1000 10000] [--latency-ms 20] [--naive-sample 300] [--backends rest soap]

--backends: e-Boekhouden's REST API and/or the legacy SOAP API (both by default; each on a fresh sandbox).
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
from harness import PS_KEY, child_env, peak_rss_mb, run_child, sandbox_process, save, set_latency, table, write_tenant  # noqa: E402


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


def scenario(orders: int, latency_ms: int, naive_sample: int, backend: str = "rest") -> list[dict]:
    """New customers, returning customers and the naive baseline for one size, on one e-Boekhouden backend."""
    results = []
    with sandbox_process(orders, days_back=max(3, orders / 150)) as urls, tempfile.TemporaryDirectory() as tmp:
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
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument("--backends", nargs="+", choices=["rest", "soap"], default=["rest", "soap"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.since, args.until, args.naive, args.limit)))
        return
    results = [row for backend in args.backends for n in args.orders for row in scenario(n, args.latency_ms, args.naive_sample, backend)]
    print(f"Orders through extract → validate → book, {args.latency_ms} ms added per API call, concurrency 8 (naive: 1):")
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
    print(f"\nwritten to {save('orders_throughput', {'latency_ms': args.latency_ms, 'results': results})}")


if __name__ == "__main__":
    main()
