"""The README's demo as a real running stack: ``scripts/demo.sh`` in its own process group, with an
Airflow home, port, sandbox folder and tenant folder of its own (never the developer's ``.airflow/``
nor the test session's Airflow home).

Two tenants on the one sandbox shop:
- ``demo``: include/tenants/demo.yaml without the 9% VAT mapping, so the seeded orders with 9% lines
  wait in Errors ("No VAT mapping for 9% ...") until the browser test fixes the file;
- ``migrate``: the same shop with sales numbers ``MIG-...`` (they cannot clash with demo's in the
  shared e-Boekhouden emulator); demo.sh does not trigger it: test_backfill migrates its history.

One stack serves the whole package (startup takes ~30 s); test_demo's Ctrl-C test stops it and is
always run last.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = REPO / ".venv" / "bin" / "airflow"
DEMO_TENANT = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
PROCESS_STATUSES = set(DEMO_TENANT["prestashop"]["process_statuses"])
PS_KEY = "SANDBOXPRESTASHOPKEY000000000000"
STARTUP_TIMEOUT = 240.0
STOP_TEST = "test_ctrl_c_stops_every_process"  # stops the stack: runs after every other live test


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll check() until it returns something truthy; fail with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            result, last_error = None, exc
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tenant_files(folder: Path) -> None:
    """demo (no 9% mapping) and migrate (prefix MIG-, payments off) in a tenant folder."""
    demo = yaml.safe_load(yaml.safe_dump(DEMO_TENANT))
    del demo["vat"]["rates"]["9"]
    migrate = yaml.safe_load(yaml.safe_dump(DEMO_TENANT))
    migrate["tenant"] = "migrate"
    migrate["eboekhouden"]["sales_number_prefix"] = "MIG-"
    migrate["payments"]["enabled"] = False
    (folder / "demo.yaml").write_text(yaml.safe_dump(demo, sort_keys=False))
    (folder / "migrate.yaml").write_text(yaml.safe_dump(migrate, sort_keys=False))


def clean_env() -> dict[str, str]:
    """The test process's environment without anything Airflow, the integration or the demo reads."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW", "PRESTA_EB_", "DEMO_"))}


def _reset_sigint() -> None:
    """In the child: Ctrl-C's default action, as in a terminal (a shell can't trap a signal ignored at its start)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class DemoStack:
    """scripts/demo.sh running: where it listens, its login, and helpers to look inside."""

    process: subprocess.Popen
    home: Path
    tenants_dir: Path
    sandbox_dir: Path
    output_file: Path
    base_url: str = ""
    password: str = ""
    prestashop_url: str = ""
    eboekhouden_url: str = ""
    env: dict[str, str] = field(default_factory=dict)
    sessions: set[int] = field(default_factory=set)  # session ids the demo's processes were seen in
    interrupted: bool = False
    _token: str = ""

    # -- what demo.sh printed and started -----------------------------------------------------

    @property
    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The end of demo.sh's output and of Airflow's log, for failure messages."""
        standalone = self.home / "standalone.log"
        tail = standalone.read_text(errors="replace").splitlines()[-lines:] if standalone.exists() else []
        return f"--- demo.sh ---\n{self.output[-4000:]}\n--- standalone.log ---\n" + "\n".join(tail)

    def processes(self) -> list[psutil.Process]:
        """Every live process this demo started, however deep or re-parented.

        Children renamed by setproctitle ("airflow api_server -- ...") no longer show their environment,
        and Airflow's task processes get process groups of their own; so a process is the demo's when it
        descends from demo.sh, or sits in a session the demo's processes were seen in, or carries its DEMO_HOME.
        """
        try:
            family = {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)} | {self.process.pid}
        except psutil.NoSuchProcess:
            family = set()
        for pid in family:
            try:
                self.sessions.add(os.getsid(pid))
            except OSError:
                pass
        self.sessions.discard(os.getsid(0))  # never the test session's own
        mine = []
        for proc in psutil.process_iter():
            try:
                if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                if proc.pid in family or os.getsid(proc.pid) in self.sessions or proc.environ().get("DEMO_HOME") == str(self.home):
                    mine.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, ProcessLookupError):
                continue
        return mine

    def interrupt(self) -> None:
        """Ctrl-C as a terminal sends it: SIGINT to demo.sh's whole process group."""
        self.interrupted = True
        os.killpg(self.process.pid, signal.SIGINT)

    # -- talking to it ------------------------------------------------------------------------

    def airflow(self, *args: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`airflow ...` with the environment demo.sh gave Airflow (its home, tenants, connections), plus env."""
        result = subprocess.run([str(AIRFLOW), *args], env=self.env | (env or {}), cwd=REPO, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def token(self) -> str:
        """A JWT of the admin from POST /auth/token."""
        if not self._token:
            answer = requests.post(f"{self.base_url}/auth/token", json={"username": "admin", "password": self.password}, timeout=30)
            assert answer.status_code == 201, answer.text
            self._token = answer.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the API server as admin (path from the root: /api/v2/..., /bookkeeping/api/...)."""
        return requests.request(method, f"{self.base_url}{path}", headers={"Authorization": f"Bearer {self.token()}"}, timeout=60, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        answer = self.api("GET", path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def mutations(self) -> list[dict]:
        """Everything the e-Boekhouden emulator received (admin route)."""
        return json.loads(requests.get(f"{self.eboekhouden_url}/__sandbox__/mutations", timeout=30).text, parse_float=Decimal)

    def shop_orders(self) -> list[dict]:
        """Every order of the emulated shop (its webservice, as the integration reads it)."""
        answer = requests.get(
            f"{self.prestashop_url}/api/orders", auth=(PS_KEY, ""), timeout=60,
            params={"output_format": "JSON", "display": "[id,reference,current_state,date_upd,total_paid_tax_incl]"},
        )
        assert answer.status_code == 200, answer.text[:500]
        return answer.json()["orders"]

    def store(self):
        """The state store the demo's tasks write (PRESTA_EB_STATE_DB under DEMO_HOME)."""
        from prestashop_eboekhouden.store import StateStore

        return StateStore(self.env["PRESTA_EB_STATE_DB"])

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, timeout: float = 30) -> list[psutil.Process]:
        """Ctrl-C, then wait up to timeout s for every process it started to end; returns those left."""
        if self.process.poll() is None and not self.interrupted:
            self.interrupt()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self.processes()
            if not left and self.process.poll() is not None:
                return []
            time.sleep(0.5)
        return self.processes()

    def kill_leftovers(self) -> None:
        """Last resort of the teardown: nothing of the demo may outlive the tests."""
        for proc in self.processes():
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _start(tmp: Path) -> DemoStack:
    tenants, home, sandbox_dir = tmp / "tenants", tmp / "airflow-home", tmp / "sandbox"
    tenants.mkdir()
    tenant_files(tenants)
    port = free_port()
    env = clean_env() | {
        "DEMO_HOME": str(home),
        "DEMO_PORT": str(port),
        "DEMO_TENANTS_DIR": str(tenants),
        "DEMO_SANDBOX_DIR": str(sandbox_dir),
        "DEMO_TRIGGER": "demo",
        "DEMO_DAYS_BACK": "4",  # orders before the backfill's three days too
    }
    output = tmp / "demo.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "demo.sh")], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_reset_sigint,
        )
    return DemoStack(process=process, home=home, tenants_dir=tenants, sandbox_dir=sandbox_dir, output_file=output, base_url=f"http://localhost:{port}")


def _ready(stack: DemoStack) -> None:
    def banner() -> bool:
        if stack.process.poll() is not None:
            raise AssertionError(f"scripts/demo.sh exited with {stack.process.returncode}:\n{stack.log_tail()}")
        return "Press Ctrl-C" in stack.output

    try:
        wait_for("the demo's banner", banner, STARTUP_TIMEOUT, interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.log_tail()}") from None
    stack.password = json.loads((stack.home / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
    ports = json.loads((stack.sandbox_dir / "ports.json").read_text())
    stack.prestashop_url, stack.eboekhouden_url = ports["prestashop"], ports["eboekhouden"]
    standalone = wait_for(
        "airflow standalone", lambda: [p for p in psutil.Process(stack.process.pid).children() if "standalone" in " ".join(p.cmdline())], 30
    )[0]
    stack.env = standalone.environ()  # exactly what demo.sh exported for Airflow, connections included
    stack.processes()  # learn the sessions of the emulators and of Airflow
    assert stack.env["AIRFLOW_HOME"] == str(stack.home) and stack.env["PRESTA_EB_TENANTS_DIR"] == str(stack.tenants_dir)
    for dag_id in ("demo__orders_hourly", "migrate__orders_hourly"):
        wait_for(f"{dag_id} parsed", lambda dag_id=dag_id: stack.api("GET", f"/api/v2/dags/{dag_id}").status_code == 200, 120)


@pytest.fixture(scope="package")
def demo(tmp_path_factory) -> Iterator[DemoStack]:
    """scripts/demo.sh running with two tenants on one sandbox; stopped (and checked for leftovers) at the end."""
    stack = _start(tmp_path_factory.mktemp("live-demo"))
    try:
        _ready(stack)
        yield stack
    finally:
        left = stack.stop(timeout=30)
        if left:
            stack.kill_leftovers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Ctrl-C stops the shared stack: that test goes after every other live test, whatever the order asked."""
    live = [i for i, item in enumerate(items) if Path(str(item.fspath)).parent == Path(__file__).parent]
    if not live:
        return
    stop = [items[i] for i in live if items[i].name == STOP_TEST]
    others = [items[i] for i in live if items[i].name != STOP_TEST]
    for index, item in zip(live, others + stop, strict=True):
        items[index] = item

