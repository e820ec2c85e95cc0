"""Parse time of dags/tenant_dags.py for 1, 100 and 1000 generated tenants (3 DAGs each).

Runs each measurement in a fresh interpreter, the way Airflow's DAG processor imports the file
(DagBag.process_file), with no Airflow metadata database reachable: parsing must need none.
Prints a table and writes bench/results/parse_time.json.

    .venv/bin/python bench/parse_time.py [--tenants 1 100 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["REPO"], "plugins"))
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag  # Airflow's own import cost, paid once per processor
t1, c1 = time.perf_counter(), time.process_time()
bag = DagBag(os.path.join(os.environ["REPO"], "dags", "tenant_dags.py"))
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps({"import_airflow_s": t1 - t0, "parse_s": t2 - t1, "parse_cpu_s": c2 - c1, "dags": len(bag.dags), "errors": len(bag.import_errors)}))
"""


def make_tenants(folder: Path, count: int, notify: bool = False) -> None:
    """count tenant files shaped like the demo tenant (with notify: a notify section, so with deadline alerts)."""
    demo = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
    if notify:
        demo["notify"] = {"email": ["bookkeeping@bench.example"]}
    for i in range(count):
        (folder / f"shop_{i:04d}.yaml").write_text(yaml.safe_dump({**demo, "tenant": f"shop_{i:04d}"}))


def measure(count: int, repeat: int, notify: bool = False) -> dict:
    """Median of `repeat` fresh-process parses."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tenants"
        folder.mkdir()
        make_tenants(folder, count, notify)
        env = {
            **os.environ,
            "REPO": str(REPO),
            "PRESTA_EB_TENANTS_DIR": str(folder),
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////nonexistent/no-database-at-parse-time.db",
        }
        runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]) for _ in range(repeat)]
    parse = statistics.median(r["parse_s"] for r in runs)
    cpu = statistics.median(r["parse_cpu_s"] for r in runs)
    return {"tenants": count, "dags": runs[0]["dags"], "import_errors": runs[0]["errors"], "parse_s": round(parse, 3), "parse_cpu_s": round(cpu, 3), "per_dag_ms": round(parse / max(runs[0]["dags"], 1) * 1000, 3), "airflow_import_s": round(statistics.median(r["import_airflow_s"] for r in runs), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--notify", action="store_true", help="tenants with a notify section, so with deadline alerts (issue 27)")
    args = parser.parse_args()
    results = [measure(n, args.repeat, args.notify) for n in args.tenants]
    print(f"{'tenants':>8} {'DAGs':>6} {'parse s':>8} {'CPU s':>8} {'ms/DAG':>7} {'errors':>6}   (median of {args.repeat} fresh processes; Airflow import itself {results[0]['airflow_import_s']} s)")
    for r in results:
        print(f"{r['tenants']:>8} {r['dags']:>6} {r['parse_s']:>8.3f} {r['parse_cpu_s']:>8.3f} {r['per_dag_ms']:>7.3f} {r['import_errors']:>6}")
    out = REPO / "bench/results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "parse_time.json").write_text(json.dumps({"cpu_count": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
