"""The distributed stack as local processes: PostgreSQL and Redis (through pytest-postgresql's and
pytest-redis's executors), the sandbox emulators, and Airflow 3 with CeleryExecutor: api-server,
scheduler, dag-processor and two Celery workers. Airflow's metadata DB and the integration's state
store both live on the PostgreSQL server; tenant connections live in the metadata DB.

Used by tests/stack (one stack for the whole suite) and by bench/tenants_scale.py. Everything it
starts it stops: each Airflow part runs in a session of its own and is stopped with its whole tree.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = [sys.executable, "-m", "airflow"]
DEMO_TENANT = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
from sandbox.shop import DEFAULT_KEY as PS_KEY  # noqa: E402 - the emulator's own key

EB_TOKEN = "sandbox-eboekhouden-token"
ADMIN_PASSWORD = "stack-admin"
# The stack's airflow_local_settings.py: the integration's modules preloaded in each Celery pool process (as
# README "Scaling out" advises a deployment), and, for the tests only, a retry 2 s after a failure instead of
# the DAG's minute (a cluster policy: the DAGs under test are unchanged).
PRELOAD_SETTINGS = '''\
from prestashop_eboekhouden.preload import on_celery_workers

on_celery_workers()
'''
LOCAL_SETTINGS = '''\
import datetime as dt


def task_policy(task):
    """Stack tests: retries after seconds, not minutes."""
    task.retry_delay = dt.timedelta(seconds=2)
    task.max_retry_delay = dt.timedelta(seconds=4)
'''



def terminate(procs: list[psutil.Process], timeout: float) -> None:
    """SIGTERM to every process at once, SIGKILL to what is left after timeout seconds."""
    for proc in procs:
        try:
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)

class StackUnavailable(RuntimeError):
    """PostgreSQL or Redis is not installed (scripts/stack-deps.sh installs them)."""


def find_executable(name: str, patterns: Iterable[str] = ()) -> str:
    """A server binary on PATH or in a Debian package's private folder (postgresql's bin/ is not on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if matches:
            return matches[-1]
    raise StackUnavailable(f"{name} not found: run scripts/stack-deps.sh (installs Debian's postgresql and redis-server)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Poll check() until it returns something truthy; fail naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (requests.RequestException, OSError, ValueError, KeyError) as exc:
            result, last = None, exc
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last!r})" if last else ""))


def leftovers(base: Path) -> list[psutil.Process]:
    """Processes still alive that belong to a stack under `base` (its command line or Airflow home names it)."""
    mine = []
    marker = str(base)
    for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            text = " ".join(proc.info["cmdline"] or [])
            if marker in text or (proc.info["environ"] or {}).get("AIRFLOW_HOME", "").startswith(marker):
                mine.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return mine


# -- PostgreSQL and Redis ------------------------------------------------------------------------


def start_postgres(base: Path):
    """A PostgreSQL server on a free port (pytest-postgresql's executor), trust auth for user postgres.

    PostgreSQL refuses to run as root: as root, pg_ctl is run as the postgres user through a wrapper,
    in a folder that user owns.
    """
    from pytest_postgresql.executors import PostgreSQLExecutor

    pg_ctl = find_executable("pg_ctl", ["/usr/lib/postgresql/*/bin/pg_ctl"])
    folder = base / "postgresql"
    folder.mkdir(parents=True, exist_ok=True)
    executable = pg_ctl
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwnam("postgres")
        wrapper = folder / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(0o755)
        for path in (base, folder):
            os.chmod(path, 0o755)
        os.chown(folder, user.pw_uid, user.pw_gid)
        executable = str(wrapper)
    port = free_port()
    executor = PostgreSQLExecutor(
        executable=executable, host="127.0.0.1", port=port, datadir=str(folder / "data"), unixsocketdir=str(folder),
        logfile=str(folder / "postgresql.log"), startparams="-w", dbname="postgres", user="postgres", timeout=120,
        # a test server: no fsync, enough connections for five Airflow parts and their task processes
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
    )
    executor.start()
    return executor


def start_redis(base: Path):
    """A Redis server on a free port (pytest-redis's executor)."""
    from pytest_redis.executor import RedisExecutor

    folder = base / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    executor = RedisExecutor(
        executable=find_executable("redis-server"), databases=4, redis_timeout=30, loglevel="warning", host="127.0.0.1",
        port=free_port(), datadir=folder,
    )
    executor.start()
    return executor


def create_databases(pg_port: int, names: Iterable[str]) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", port=pg_port, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in names:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


# -- tenants ---------------------------------------------------------------------------------------


def tenant_file(tenant: str, prefix: str, **changes: Any) -> dict:
    """The demo tenant under another name, with its own sales number prefix (one shared administration)."""
    data = yaml.safe_load(yaml.safe_dump(DEMO_TENANT))
    data["tenant"] = tenant
    data["eboekhouden"]["sales_number_prefix"] = prefix
    data["payments"]["enabled"] = False
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    return data


# -- Airflow -----------------------------------------------------------------------------------------


@dataclass
class Part:
    """One Airflow process (a session of its own) and its log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Part:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def tree(self) -> list[psutil.Process]:
        """The process and every descendant (Celery pool children, task supervisors and task processes)."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the live tree, children that ended included where the OS counts them."""
        total = 0.0
        for proc in self.tree():
            try:
                times = proc.cpu_times()
                total += times.user + times.system + getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
            except psutil.NoSuchProcess:
                pass
        return total

    def kill(self) -> None:
        """SIGKILL the whole tree at once (a machine losing power, as far as this worker is concerned)."""
        procs = self.tree()
        for proc in procs:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        if self.process is not None:
            self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM the tree, then SIGKILL what is left after timeout seconds."""
        terminate(self.tree(), timeout)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@dataclass
class Stack:
    """Airflow with CeleryExecutor on PostgreSQL + Redis, against a sandbox; see the module's doc."""

    base: Path
    tenants: dict[str, dict]
    sandbox: Any  # SandboxServers
    workers: int = 2
    worker_concurrency: int = 4
    pool_slots: int = 4
    preload: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    postgres: Any = None
    redis: Any = None
    api_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    parts: dict[str, Part] = field(default_factory=dict)
    _token: str = ""

    # -- start and stop ----------------------------------------------------------------------------

    def start(self) -> Stack:
        t0 = time.monotonic()
        self.timings: dict[str, float] = {}
        self.postgres = self.postgres or start_postgres(self.base)
        self.redis = self.redis or start_redis(self.base)
        create_databases(self.postgres.port, ["airflow", "presta_eb_state"])
        self.timings["postgres+redis"] = time.monotonic() - t0
        home = self.base / "airflow-home"
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "config" / "airflow_local_settings.py").write_text((PRELOAD_SETTINGS if self.preload else "") + LOCAL_SETTINGS)
        (home / "passwords.json").write_text(json.dumps({"admin": ADMIN_PASSWORD}))
        tenants_dir = self.base / "tenants"
        tenants_dir.mkdir(exist_ok=True)
        for name, data in self.tenants.items():
            (tenants_dir / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        from cryptography.fernet import Fernet

        pg = f"postgres@127.0.0.1:{self.postgres.port}"
        self.api_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW", "PRESTA_EB_"))} | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__PARALLELISM": str(self.workers * self.worker_concurrency * 2),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}/airflow",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}/airflow",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
            # a killed worker's task is found within seconds (default: 5 minutes)
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "PRESTA_EB_TENANTS_DIR": str(tenants_dir),
            "PRESTA_EB_STATE_DB": f"postgresql+psycopg2://{pg}/presta_eb_state",
            "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        } | self.extra_env
        t = time.monotonic()
        self.airflow("db", "migrate", timeout=400)
        self.timings["db migrate"] = time.monotonic() - t
        self.state_store()  # creates the store's tables once, before any task races to
        self.import_connections()
        subprocess.run([sys.executable, "-m", "prestashop_eboekhouden.setup", "pools", "--slots", str(self.pool_slots)],
                       env=self.env, cwd=REPO, check=True, capture_output=True, timeout=120)
        logs = self.base / "logs"
        logs.mkdir(exist_ok=True)
        self.parts["api-server"] = Part("api-server", [*AIRFLOW, "api-server", "--port", str(self.api_port)], self.env, logs / "api-server.log").start()
        self.parts["scheduler"] = Part("scheduler", [*AIRFLOW, "scheduler"], self.env, logs / "scheduler.log").start()
        self.parts["dag-processor"] = Part("dag-processor", [*AIRFLOW, "dag-processor"], self.env, logs / "dag-processor.log").start()
        for number in range(1, self.workers + 1):
            self.start_worker(number)
        wait_for("the API server", lambda: requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).ok, 180)
        for name in self.tenants:
            wait_for(f"{name}__orders_hourly parsed", lambda name=name: self.api("GET", f"/api/v2/dags/{name}__orders_hourly").ok, 180, 1)
        wait_for("both Celery workers", lambda: len(self.celery_workers()) == self.workers, 120, 1)
        self.timings["airflow up"] = time.monotonic() - t
        self.timings["total start"] = time.monotonic() - t0
        return self

    def worker_env(self, number: int) -> dict[str, str]:
        return self.env | {
            "STACK_WORKER_NAME": f"worker-{number}",
            # task instances record which worker ran them (both workers share this machine's name)
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.stack.worker_name.hostname",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }

    def start_worker(self, number: int) -> Part:
        name = f"worker-{number}"
        part = Part(name, [*AIRFLOW, "celery", "worker", "--celery-hostname", f"{name}@stack", "--concurrency", str(self.worker_concurrency),
                           "--pid", str(self.base / f"{name}.pid"), "--without-mingle", "--without-gossip"],
                    self.worker_env(number), self.base / "logs" / f"{name}.log")
        self.parts[name] = part.start()
        return part

    def celery_workers(self) -> list[str]:
        """Names of the Celery workers that answer a ping."""
        from celery import Celery

        app = Celery(broker=self.env["AIRFLOW__CELERY__BROKER_URL"])
        try:
            return sorted((app.control.ping(timeout=1.0) and [name for reply in app.control.ping(timeout=1.0) for name in reply]) or [])
        finally:
            app.close()

    def stop(self, timeout: float = 5, servers: bool = True) -> None:
        """SIGTERM to every part at once, SIGKILL to what is left after timeout seconds; then Redis and PostgreSQL."""
        terminate([proc for part in self.parts.values() for proc in part.tree()], timeout)
        for part in self.parts.values():
            if part.process is not None and part.process.poll() is None:
                part.process.kill()
            if part.process is not None:
                part.process.wait(5)
        for server in (self.redis, self.postgres) if servers else ():
            if server is not None:
                try:
                    server.stop()
                except Exception:  # noqa: BLE001 - the other server must still be stopped
                    pass

    # -- set-up helpers ----------------------------------------------------------------------------

    def airflow(self, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([*AIRFLOW, *args], env=self.env | (env or {}), cwd=REPO, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def import_connections(self) -> None:
        """prestashop_<tenant>, eboekhouden_<tenant> and vies_default into the metadata DB (one `airflow connections import`)."""
        conns = {}
        for name in self.tenants:
            conns[f"prestashop_{name}"] = {"conn_type": "http", "host": self.sandbox.prestashop_url, "password": PS_KEY}
            conns[f"eboekhouden_{name}"] = {"conn_type": "http", "host": self.sandbox.eboekhouden_url, "password": EB_TOKEN,
                                           "extra": json.dumps({"source": "PSEBSTACK"})}
        conns["vies_default"] = {"conn_type": "http", "host": self.sandbox.vies_url}  # ICP VAT numbers: the VIES emulator
        path = self.base / "connections.json"
        path.write_text(json.dumps(conns))
        self.airflow("connections", "import", str(path))
        path.unlink()

    def state_store(self):
        from prestashop_eboekhouden.store import StateStore

        if not hasattr(self, "_store"):
            self._store = StateStore(self.env["PRESTA_EB_STATE_DB"])
        return self._store

    # -- the REST API ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def token(self) -> str:
        if not self._token:
            answer = requests.post(f"{self.url}/auth/token", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30)
            assert answer.status_code == 201, answer.text
            self._token = answer.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers={"Authorization": f"Bearer {self.token()}"}, timeout=60, **kwargs)

    def trigger(self, dag_id: str, *, hour_end: dt.datetime | None = None, conf: dict | None = None, run_id: str | None = None) -> str:
        """A manual run; hour_end (aware) = the end of the hour it books (a manual run's data interval is the
        last full hour before its logical date)."""
        body: dict[str, Any] = {"conf": conf or {}, "logical_date": hour_end.isoformat() if hour_end is not None else None}
        if run_id:
            body["dag_run_id"] = run_id
        answer = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
        assert answer.status_code == 200, f"trigger {dag_id}: {answer.status_code} {answer.text[:500]}"
        return answer.json()["dag_run_id"]

    def backfill(self, dag_id: str, start: dt.datetime, end: dt.datetime, max_active_runs: int) -> dict:
        answer = self.api("POST", "/api/v2/backfills", json={
            "dag_id": dag_id, "from_date": start.isoformat(), "to_date": end.isoformat(), "max_active_runs": max_active_runs,
            "reprocess_behavior": "none", "run_backwards": False, "dag_run_conf": {},
        })
        assert answer.status_code == 200, f"backfill {dag_id}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def dag_runs(self, dag_id: str) -> list[dict]:
        answer = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})
        assert answer.ok, answer.text[:500]
        return answer.json()["dag_runs"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        answer = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        assert answer.ok, answer.text[:500]
        return answer.json()["state"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        return wait_for(f"{dag_id} {run_id} to finish", lambda: (s := self.run_state(dag_id, run_id)) in ("success", "failed") and s, timeout, 1)

    def task_instances(self, dag_id: str, run_id: str = "~") -> list[dict]:
        rows: list[dict] = []
        while True:
            answer = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100, "offset": len(rows)})
            assert answer.ok, answer.text[:500]
            page = answer.json()["task_instances"]
            rows += page
            if len(page) < 100:
                return rows

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict]:
        answer = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries")
        assert answer.ok, answer.text[:500]
        return answer.json()["task_instances"]

    # -- what the emulators hold ---------------------------------------------------------------------

    def sale_mutations(self, prefix: str | None = None) -> list[dict]:
        return [m for m in self.sandbox.books.mutations() if m["type"] == 2 and (prefix is None or str(m["invoiceNumber"]).startswith(prefix))]


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
