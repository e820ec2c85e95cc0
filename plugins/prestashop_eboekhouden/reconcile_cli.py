"""``python -m prestashop_eboekhouden.setup reconcile``: the reconciliation from a shell, read only.

Connections come as they do for the tasks (Airflow's metadata DB, a secrets backend or env ``AIRFLOW_CONN_*``). It
reads the shop, the state store and e-Boekhouden and writes nothing anywhere (``--record``: it keeps its result in the
state store, as the daily DAG does).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TextIO

from prestashop_eboekhouden.config import InvalidTenantFile, get_tenant
from prestashop_eboekhouden.domain.reconcile import LABELS


def run_reconcile(tenant: str, since: dt.date, until: dt.date, *, as_json: bool = False, record: bool = False, out: TextIO | None = None) -> int:
    """Reconcile and print; 0 without differences, 1 with, 2 when it cannot run."""
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook
    from prestashop_eboekhouden.operators.reconcile import MAX_PERIOD_DAYS, differences_table
    from prestashop_eboekhouden.pipeline.reconcile import reconcile
    from prestashop_eboekhouden.store import get_store

    out = out or sys.stdout
    try:
        config = get_tenant(tenant)
    except (InvalidTenantFile, LookupError) as exc:
        print(f"Tenant {tenant}: {exc}", file=sys.stderr)
        return 2
    if until < since or (until - since).days >= MAX_PERIOD_DAYS:
        print(f"The period {since} … {until} must be at most a year, until not before since", file=sys.stderr)
        return 2
    shop = PrestaShopHook(config.prestashop_conn_id, page_size=config.prestashop.page_size)
    eb = bookkeeping_api(config.eboekhouden_conn_id, pool_size=config.eboekhouden.concurrency)
    try:
        result = reconcile(config, shop, eb, get_store(), since, until, today=dt.datetime.now(config.tz).date(), run_id=f"cli__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}", record=record)
    finally:
        eb.close_session()
    if as_json:
        json.dump(result.as_json(), out, indent=2, default=str)
        out.write("\n")
    else:
        kinds = ", ".join(f"{n} {k} ({LABELS[k]})" for k, n in result.summary["kinds"].items() if n) or "none"
        print(f"{config.tenant}: {since} … {until}: differences: {kinds}", file=out)
        print(differences_table(result.differences), file=out)
        print("\nTotals incl VAT (shop / booked / e-Boekhouden):", file=out)
        for row in result.totals:
            key = " ".join(filter(None, (row["regime"], row["country"], row["vat_code"])))
            print(f"  {key:<32} {row['shop_incl']:>12} {row['booked_incl']:>12} {row['books_incl']:>12}", file=out)
        print("\nVAT summary (this webshop's part of the return; turnover and VAT as booked / in e-Boekhouden):", file=out)
        for line in result.vat_summary.get("return", []):
            print(f"  {line['line']:<3} {line['description'][:58]:<58} {line['booked_turnover']:>11} {line['booked_vat']:>10} {line['books_turnover']:>11} {line['books_vat']:>10}", file=out)
        for oss in result.vat_summary.get("oss", []):
            rates = "; ".join(f"{r['rate'] or '?'}%: {r['booked_turnover']} VAT {r['booked_vat']}" for r in oss["rates"])
            print(f"  OSS {oss['country']} ({rates}) {oss['booked_turnover']:>11} {oss['booked_vat']:>10} {oss['books_turnover']:>11} {oss['books_vat']:>10}", file=out)
        print(f"\nCompared in full with e-Boekhouden: {result.summary['compared']}; requests: {result.summary['requests']}", file=out)
    return 1 if result.differences else 0
