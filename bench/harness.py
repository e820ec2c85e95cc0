"""What the benchmarks share: the sandbox in its own process, a tenant, connections, a fresh store.

The emulators run in a separate process so the measured process's peak RSS is the integration's
own (ru_maxrss of a fresh child per measurement).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "plugins"), str(REPO)]
PS_KEY = "SANDBOXPRESTASHOPKEY000000000000"
EB_TOKEN = "sandbox-eboekhouden-token"
ANCHOR = "2026-11-20 12:00:00"


@contextlib.contextmanager
def sandbox_process(orders: int, days_back: float, latency_ms: int = 0, seed: int = 42) -> Iterator[dict[str, str]]:
    """`python -m sandbox` on free ports, seeded; yields its URLs and stops it afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        ports = Path(tmp) / "ports.json"
        command = [
            sys.executable, "-m", "sandbox", "--prestashop-port", "0", "--eboekhouden-port", "0", "--eboekhouden-soap-port", "0", "--vies-port", "0",
            "--orders", str(orders),
            "--days-back", str(days_back), "--seed", str(seed), "--latency-ms", str(latency_ms), "--ports-file", str(ports),
            "--anchor", ANCHOR,
        ]
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 600
            while not ports.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sandbox did not start: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
                time.sleep(0.2)
            yield json.loads(ports.read_text())
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def set_latency(urls: dict[str, str], latency_ms: int) -> None:
    """Added latency per request on every emulator."""
    for url in urls.values():
        requests.put(f"{url}/__sandbox__/faults", json={"latency_ms": latency_ms}, timeout=10).raise_for_status()


SOAP_CODES = {"username": "sandbox", "security_code_1": "SANDBOXSECURITYCODE1", "security_code_2": "SANDBOXSECURITYCODE2"}


def eboekhouden_connection(urls: dict[str, str], backend: str) -> str:
    """The bench tenant's e-Boekhouden connection: the REST emulator, or the legacy SOAP one."""
    if backend == "soap":
        return json.dumps({"conn_type": "http", "host": urls["eboekhouden_soap"], "extra": {"api": "soap", "source": "BENCH", **SOAP_CODES}})
    return json.dumps({"conn_type": "http", "host": urls["eboekhouden"], "password": EB_TOKEN, "extra": {"source": "BENCH"}})


def child_env(urls: dict[str, str], state_db: str, tenants_dir: str, backend: str = "rest") -> dict[str, str]:
    """Environment of a measuring child: connections (REST or SOAP e-Boekhouden), store and tenant folder."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        "AIRFLOW_HOME": str(Path(state_db).parent),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PRESTA_EB_STATE_DB": f"sqlite:///{state_db}",
        "PRESTA_EB_STATE_AUTO_MIGRATE": "1",  # a throwaway store per measurement
        "PRESTA_EB_TENANTS_DIR": tenants_dir,
        "AIRFLOW_CONN_PRESTASHOP_BENCH": json.dumps({"conn_type": "http", "host": urls["prestashop"], "password": PS_KEY}),
        "AIRFLOW_CONN_EBOEKHOUDEN_BENCH": eboekhouden_connection(urls, backend),
        "AIRFLOW_CONN_VIES_DEFAULT": json.dumps({"conn_type": "vies", "host": urls["vies"]}),
    }


def write_tenant(folder: Path, **changes) -> None:
    """The bench tenant: the demo tenant's mappings, with changes per section."""
    data = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text()) | {"tenant": "bench"}
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value}
    (folder / "bench.yaml").write_text(yaml.safe_dump(data))


def run_child(script: str, args: list[str], env: dict[str, str]) -> dict:
    """Run `script --child ...` in a fresh interpreter and return the JSON it prints last."""
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), "--child", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{script} child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A plain text table: columns as (key, header)."""
    widths = [max(len(header), *(len(str(r.get(key, ""))) for r in rows)) for key, header in columns]
    lines = ["  ".join(header.rjust(w) for (_, header), w in zip(columns, widths, strict=True))]
    lines += ["  ".join(str(r.get(key, "")).rjust(w) for (key, _), w in zip(columns, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def save(name: str, payload: dict) -> Path:
    """bench/results/<name>.json."""
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
