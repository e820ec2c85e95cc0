"""Deployment helpers: `python -m prestashop_eboekhouden.setup pools|check` (with plugins/ on PYTHONPATH).

- ``pools``: create or update the per-tenant pool ``eboekhouden_<tenant>`` for every valid tenant file
  (the booking tasks run in it; a task in a pool that does not exist is never scheduled);
- ``check``: validate every tenant file and print each problem with file and field; exit 1 if any.
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
