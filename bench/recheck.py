"""The nightly recheck over N open orders (default 10,000), through the real operator code.

Set-up: the sandbox seeds N orders; an hourly pass with no status to book puts every one of them
in the Open state (as if all were still awaiting payment). Then the nightly path — recheck_candidates
→ extract_ids → validate → book — rereads all of them and books those in a process status.
Prints seconds, orders/s, requests and peak RSS; writes bench/results/recheck.json.

    .venv/bin/python bench/recheck.py [--orders 10000] [--latency-ms 20] [--backends rest soap]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_env, peak_rss_mb, run_child, sandbox_process, save, set_latency, table, write_tenant  # noqa: E402

TODAY = dt.date(2026, 11, 20)


def make_open() -> dict:
    """(child) Every seeded order into the store as Open."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.orders import extract_window
    from prestashop_eboekhouden.store import get_store

    extracted = extract_window(get_tenant("bench"), PrestaShopHook("prestashop_bench"), get_store(), dt.datetime(2000, 1, 1), dt.datetime(2026, 11, 21), "setup")
    return {"open": get_store().counts("bench")["open"], "seen": extracted.seen}


def nightly() -> dict:
    """(child) The nightly path, timed."""
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.pipeline.booking import SaleBooker
    from prestashop_eboekhouden.pipeline.orders import extract_ids, validate
    from prestashop_eboekhouden.pipeline.recheck import recheck_candidates
    from prestashop_eboekhouden.store import get_store

    config, store = get_tenant("bench"), get_store()
    shop, eb = PrestaShopHook("prestashop_bench"), bookkeeping_api("eboekhouden_bench")
    started = time.perf_counter()
    candidates, expired = recheck_candidates(config, store, TODAY, "nightly")
    extracted = extract_ids(config, shop, store, candidates, "nightly")
    validated = validate(config, shop, store, extracted.to_process, "nightly")
    booked = 0
    for number, batch in enumerate(validated.batches):
        booked += SaleBooker(config, eb, store, f"nightly/{number}", "nightly").book(batch).booked
    eb.close_session()
    seconds = time.perf_counter() - started
    return {
        "open_rechecked": len(candidates), "expired": expired, "now_bookable": len(extracted.to_process), "booked": booked,
        "refused": validated.refused, "seconds": round(seconds, 1), "rechecked_per_s": round(len(candidates) / seconds, 1),
        "ps_requests": sum(shop.requests_made.values()), "eb_requests": sum(eb.requests_made.values()),
        "ps_per_100": round(100 * sum(shop.requests_made.values()) / max(len(candidates), 1), 2), "peak_rss_mb": round(peak_rss_mb(), 1),
        "still_open": store.counts("bench")["open"],
    }


def run(orders: int, latency_ms: int, backend: str) -> dict:
    """One nightly measurement on a fresh sandbox, booking through the given e-Boekhouden backend."""
    with sandbox_process(orders, days_back=80) as urls, tempfile.TemporaryDirectory() as tmp:
        tenants = Path(tmp) / "tenants"
        tenants.mkdir()
        write_tenant(tenants, prestashop={"process_statuses": [99]})  # nothing bookable yet: all Open
        env = child_env(urls, f"{tmp}/state.db", str(tenants), backend)
        setup = run_child("recheck.py", ["setup"], env)
        write_tenant(tenants, processing={"batch_size": 500})  # now the demo's statuses: most are bookable
        set_latency(urls, latency_ms)
        result = run_child("recheck.py", ["nightly"], env)
    return {"backend": backend, "orders": orders, "open_before": setup["open"], **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--backends", nargs="+", choices=["rest", "soap"], default=["rest", "soap"])
    parser.add_argument("--child", choices=["setup", "nightly"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(make_open() if args.child == "setup" else nightly()))
        return
    rows = [run(args.orders, args.latency_ms, backend) for backend in args.backends]
    print(f"Nightly recheck of open orders ({args.latency_ms} ms added per API call, no cap):")
    print(table(rows, [
        ("backend", "API"), ("open_before", "open"), ("open_rechecked", "rechecked"), ("now_bookable", "bookable"), ("booked", "booked"),
        ("refused", "refused"), ("seconds", "s"), ("rechecked_per_s", "rechecked/s"), ("ps_per_100", "PS req/100"), ("eb_requests", "EB req"),
        ("peak_rss_mb", "peak RSS MiB"), ("still_open", "still open"),
    ]))
    print(f"written to {save('recheck', {'latency_ms': args.latency_ms, 'results': rows})}")


if __name__ == "__main__":
    main()
