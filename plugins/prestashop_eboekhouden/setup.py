"""Deployment helpers: `python -m prestashop_eboekhouden.setup migrate|pools|check|…` (the package installed
with pip, or plugins/ on PYTHONPATH).

- ``migrate``: bring the state store (env PRESTA_EB_STATE_DB) to this version's schema (Alembic); run it once
  at deploy time, before the scheduler and workers start (tasks refuse a store that is behind);
- ``revision -m MESSAGE``: write a new migration with what changed in ``schema.py`` filled in (developers);
- ``validate [TENANT ...]``: check tenant files against their connections (both APIs answer, every ledger
  exists, every shop tax rate has a mapping, VAT codes are sales codes); exit 1 on any problem;
- ``schema``: print the tenant file's JSON schema (it ships with the package; for an editor's validation);
- ``pools``: create or update the per-tenant pool ``eboekhouden_<tenant>`` for every valid tenant file
  (the booking tasks run in it; a task in a pool that does not exist is never scheduled);
- ``check``: validate every tenant file and print each problem with file and field; exit 1 if any;
- ``probe TENANT [--json]``: READ-ONLY, against the tenant's shop and administration: what the official descriptions
  leave open (filters, page size, ledger categories, the key's resources and auth, VIES), one table of behaviour,
  expected, seen and what the integration does; kept in the state store for the hooks and the dashboard; exit 1 when
  something blocks booking (``probe.py``).
- ``reconcile TENANT --since YYYY-MM-DD --until YYYY-MM-DD [--json] [--record]``: compare the shop, the state store
  and e-Boekhouden for a period, read only (connections as for the tasks); prints the differences and the totals
  (``--json``: as JSON); exit 1 when there are differences. Nothing is written anywhere unless ``--record``, which
  keeps the result in the state store as the daily DAG does (for the dashboard's Reconcile tab).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from prestashop_eboekhouden.config import load_tenants, tenants_dir

DEFAULT_SLOTS = 4


def pool_definitions(slots: int) -> dict[str, dict]:
    """The per-tenant pools in `airflow pools import` format."""
    return {
        tenant.pool: {"slots": slots, "description": f"e-Boekhouden calls of tenant {tenant.tenant}", "include_deferred": False}
        for tenant in load_tenants().tenants
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m prestashop_eboekhouden.setup", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pools = sub.add_parser("pools", help="create the per-tenant e-Boekhouden pools")
    pools.add_argument("--slots", type=int, default=DEFAULT_SLOTS, help="parallel booking tasks per tenant (default 4)")
    pools.add_argument("--dry-run", action="store_true", help="print the commands only")
    sub.add_parser("check", help="validate the tenant files")
    sub.add_parser("schema", help="print the tenant file's JSON schema")
    validate = sub.add_parser("validate", help="check tenant files against their connections (calls both APIs)")
    validate.add_argument("tenants", nargs="*", help="tenant ids (default: every valid tenant file)")
    migrate = sub.add_parser("migrate", help="bring the state store to this version's schema")
    migrate.add_argument("--url", help="state store URL (default: env PRESTA_EB_STATE_DB)")
    migrate.add_argument("--revision", default="head", help="target revision (default: the newest)")
    probe = sub.add_parser("probe", help="read-only: check what the API descriptions leave open against a tenant's shop and administration")
    probe.add_argument("tenant", help="tenant id")
    probe.add_argument("--json", action="store_true", help="print the findings as JSON instead of the table")
    revision = sub.add_parser("revision", help="write a new migration from the changes in schema.py (developers)")
    revision.add_argument("-m", "--message", required=True)
    reconcile = sub.add_parser("reconcile", help="compare the shop, the books and e-Boekhouden for a period (read only)")
    reconcile.add_argument("tenant")
    reconcile.add_argument("--since", required=True, type=_day, help="first day, YYYY-MM-DD")
    reconcile.add_argument("--until", type=_day, help="last day (included), YYYY-MM-DD; default: since")
    reconcile.add_argument("--json", action="store_true", help="print the differences and totals as JSON")
    reconcile.add_argument("--record", action="store_true", help="keep the result in the state store (the Reconcile tab)")
    args = parser.parse_args(argv)
    if args.command == "reconcile":
        from prestashop_eboekhouden.reconcile_cli import run_reconcile

        return run_reconcile(args.tenant, args.since, args.until or args.since, as_json=args.json, record=args.record)
    if args.command == "migrate":
        return migrate_store(args.url, args.revision)
    if args.command == "revision":
        return new_revision(args.message)
    if args.command == "validate":
        return validate_tenants(args.tenants)
    if args.command == "probe":
        from prestashop_eboekhouden.probe import probe_command

        return probe_command(args.tenant, as_json=args.json)
    if args.command == "schema":
        from prestashop_eboekhouden.config import TenantConfig

        print(json.dumps(TenantConfig.model_json_schema(), indent=2))
        return 0
    if args.command == "check":
        loaded = load_tenants()
        for tenant in loaded.tenants:
            print(f"ok       {tenant.tenant}")
        for error in loaded.errors:
            print(f"INVALID  {error}")
        print(f"{len(loaded.tenants)} valid, {len(loaded.errors)} invalid tenant files in {tenants_dir()}")
        return 1 if loaded.errors else 0
    wanted = pool_definitions(args.slots)
    for name in wanted:
        print(f"pool {name}: {args.slots} slots")
    if wanted and not args.dry_run:  # one `airflow pools import` for all tenants, with this interpreter's Airflow
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(wanted, handle)
        subprocess.run([sys.executable, "-m", "airflow", "pools", "import", handle.name], check=True, stdout=subprocess.DEVNULL)
    return 0


def _day(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def validate_tenants(wanted: list[str]) -> int:
    """Print each check per tenant; 1 when any tenant has a problem (or a named tenant file is invalid or missing)."""
    from prestashop_eboekhouden.validate import validate_tenant

    loaded = load_tenants()
    by_id = {tenant.tenant: tenant for tenant in loaded.tenants}
    failed = False
    for error in loaded.errors:
        if not wanted or any(f"{name}.yaml" in str(error) for name in wanted):
            print(f"INVALID  {error}")
            failed = True
    for name in wanted or sorted(by_id):
        if name not in by_id:
            if not any(f"{name}.yaml" in str(error) for error in loaded.errors):
                print(f"MISSING  {name}: no valid tenant file {name}.yaml in {tenants_dir()}")
            failed = True
            continue
        report = validate_tenant(by_id[name])
        for line in report.passed:
            print(f"ok       {name}: {line}")
        for line in report.problems:
            print(f"PROBLEM  {name}: {line}")
        failed = failed or not report.ok
    return 1 if failed else 0


def migrate_store(url: str | None = None, revision: str = "head") -> int:
    """Upgrade the state store and say from which revision to which."""
    from sqlalchemy import create_engine

    from prestashop_eboekhouden import migrations
    from prestashop_eboekhouden.store import StateStore, default_url

    engine = StateStore._make_engine(url or default_url())
    try:
        before, after = migrations.upgrade(engine, revision)
    finally:
        engine.dispose()
    where = migrations.describe(create_engine(url or default_url()))
    if before == after:
        print(f"state store {where}: at revision {after}, nothing to do")
    else:
        print(f"state store {where}: migrated from {before or 'no version'} to {after}")
    return 0


def new_revision(message: str) -> int:
    """Autogenerate the next numbered migration against a scratch store at the newest revision."""
    from alembic import command

    from prestashop_eboekhouden import migrations
    from prestashop_eboekhouden.store import StateStore

    with tempfile.TemporaryDirectory() as scratch:
        engine = StateStore._make_engine(f"sqlite:///{scratch}/store.db")
        migrations.upgrade(engine)
        number = f"{int(migrations.head()) + 1:04d}"
        command.revision(migrations.config(engine), message=message, autogenerate=True, rev_id=number)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
