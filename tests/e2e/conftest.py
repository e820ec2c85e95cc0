"""End-to-end harness: the sandbox emulators on loopback, real Airflow (dag.test) and a fresh state store.

Runs go through Airflow's own DagBag, serialization, XCom, dynamic task mapping and retries; only the
waits are shortened (no minutes of retry delay or back-off in a test).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pendulum
import pytest
import yaml

from sandbox import SandboxServers

REPO = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
AMS = "Europe/Amsterdam"
ANCHOR = dt.datetime(2026, 11, 20, 12, 0)  # shop-local "now" of the seeded shop
PS_KEY = "SANDBOXPRESTASHOPKEY000000000000"
EB_TOKEN = "sandbox-eboekhouden-token"
SOAP_USER, SOAP_CODE_1, SOAP_CODE_2 = "sandbox", "SANDBOXSECURITYCODE1", "SANDBOXSECURITYCODE2"
BACKENDS = ("rest", "soap")
# What a test faults, per backend: (emulator, method, path) of that call.
EB_CALLS = {
    ("rest", "create_mutation"): ("eboekhouden", "POST", "/v1/mutation"),
    ("soap", "create_mutation"): ("eboekhouden_soap", "POST", "/soap.asmx/AddMutatie"),
}


@pytest.fixture(params=BACKENDS)
def eb_backend(request) -> str:
    """Every end-to-end test runs against the REST API and against the legacy SOAP API."""
    return request.param


@pytest.fixture
def tenants_dir(tmp_path, monkeypatch):
    """A tenant folder of this test's own, starting with the demo tenant."""
    folder = tmp_path / "tenants"
    folder.mkdir()
    (folder / "demo.yaml").write_text(yaml.safe_dump(DEMO))
    monkeypatch.setenv("PRESTA_EB_TENANTS_DIR", str(folder))
    return folder


def write_tenant(folder: Path, changes: dict, tenant: str = "demo") -> dict:
    """Rewrite a tenant file with sections changed (deep for one level)."""
    data = yaml.safe_load(yaml.safe_dump(DEMO)) | {"tenant": tenant}
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    (folder / f"{tenant}.yaml").write_text(yaml.safe_dump(data))
    return data


@pytest.fixture
def state_store(tmp_path, monkeypatch):
    """A fresh state store per test."""
    from prestashop_eboekhouden import store

    monkeypatch.setenv("PRESTA_EB_STATE_DB", f"sqlite:///{tmp_path / 'state.db'}")
    store._STORES.clear()
    yield store.get_store()
    store._STORES.clear()


@pytest.fixture
def fast(monkeypatch):
    """No seconds-long back-off between retries inside a test."""
    from prestashop_eboekhouden.hooks import base, vies
    from prestashop_eboekhouden.pipeline import booking
    from prestashop_eboekhouden.pipeline import vies as vies_step

    monkeypatch.setattr(base.ApiHook, "backoff_base", 0.01)
    monkeypatch.setattr(vies.ViesHook, "backoff_base", 0.01)
    monkeypatch.setattr(booking, "SEND_BACKOFF", 0.01)
    # the next hourly run comes an hour later in production, long after a member state's pause (minutes) ended
    monkeypatch.setattr(vies_step, "PAUSE_SECONDS", {})
    monkeypatch.setattr(vies_step, "DEFAULT_PAUSE", 0)


def connect(
    sandbox: SandboxServers, monkeypatch, tenant: str = "demo", timeout: float | None = None, ps_key: str = PS_KEY, eb_token: str = EB_TOKEN,
    backend: str = "rest", soap_codes: tuple[str, str] = (SOAP_CODE_1, SOAP_CODE_2),
) -> None:
    """Connections for a tenant from the environment, as a deployment may supply them (timeout: HTTP timeout in s);
    backend 'soap' points e-Boekhouden at the legacy SOAP emulator with username and security codes. VIES
    (vies_default) is the sandbox's VIES emulator, which knows the shop's companies."""
    extra = {"timeout": timeout} if timeout else {}
    monkeypatch.setenv("AIRFLOW_CONN_VIES_DEFAULT", json.dumps({"conn_type": "vies", "host": sandbox.vies_url}))
    monkeypatch.setenv(f"AIRFLOW_CONN_PRESTASHOP_{tenant.upper()}", json.dumps({"conn_type": "http", "host": sandbox.prestashop_url, "password": ps_key, "extra": extra}))
    if backend == "soap":
        soap = {"api": "soap", "username": SOAP_USER, "security_code_1": soap_codes[0], "security_code_2": soap_codes[1]}
        eb = {"conn_type": "http", "host": sandbox.eboekhouden_soap_url, "extra": {"source": "PSEBTEST", **soap, **extra}}
    else:
        eb = {"conn_type": "http", "host": sandbox.eboekhouden_url, "password": eb_token, "extra": {"source": "PSEBTEST", **extra}}
    monkeypatch.setenv(f"AIRFLOW_CONN_EBOEKHOUDEN_{tenant.upper()}", json.dumps(eb))


def eb_fault(sandbox: SandboxServers, backend: str, call: str, **rule) -> None:
    """A scripted fault on one e-Boekhouden call of the backend in use (e.g. the POST of a mutation / AddMutatie)."""
    target, method, path = EB_CALLS[(backend, call)]
    sandbox.add_fault_rule(target, method=method, path=path, **rule)


@pytest.fixture
def make_sandbox(monkeypatch, airflow_db, tenants_dir, state_store, fast, eb_backend):
    """Start a seeded sandbox (with connections set for the demo tenant on the backend in use); stopped after the test."""
    started: list[SandboxServers] = []

    def start(orders: int = 0, seed: int = 42, days_back: float = 2, **kwargs) -> SandboxServers:
        sandbox = SandboxServers(seed=seed, orders=orders, days_back=days_back, anchor=ANCHOR, **kwargs).start()
        started.append(sandbox)
        connect(sandbox, monkeypatch, backend=eb_backend)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()
    for sandbox in started:  # both sides obeyed the official contract in every exchange
        checked = sandbox.books.contract.as_json()
        assert checked["request_violations"] == [], "the hooks sent requests the official e-Boekhouden contract does not allow"
        assert checked["answer_violations"] == [], "the emulator answered what the real e-Boekhouden API would not"


_RUNS = Counter()


def run_dag(dag_id: str, *, conf: dict | None = None, hour: dt.datetime | None = None, retries: int = 1):
    """One run of a generated DAG through dag.test(); hour = the end of the data interval (shop time)."""
    from prestashop_eboekhouden.dag_factory import build_tenant_dags

    dag = build_tenant_dags()[dag_id]
    for task in dag.tasks:
        task.retries = retries
        task.retry_delay = dt.timedelta(0)
        task.max_retry_delay = dt.timedelta(0)
    end = pendulum.instance(hour or ANCHOR, tz=AMS)
    _RUNS[(dag_id, end)] += 1  # dag.test() keys runs by logical date: a repeat needs another second
    logical = end.add(seconds=_RUNS[(dag_id, end)] - 1)
    return dag.test(logical_date=logical, run_conf=conf or {})


def window(since: dt.datetime, until: dt.datetime) -> dict:
    """Params since/until for a window in shop time."""
    return {"since": pendulum.instance(since, tz=AMS).isoformat(), "until": pendulum.instance(until, tz=AMS).isoformat()}


def all_history() -> dict:
    """A window over everything the sandbox seeded (status changes may sit exactly at the anchor)."""
    return window(ANCHOR - dt.timedelta(days=10), ANCHOR + dt.timedelta(hours=1))


def sale_mutations(sandbox: SandboxServers, prefix: str = "DEMO-") -> list[dict]:
    """The type 2 mutations this integration booked (its sales numbers carry the tenant prefix)."""
    return [m for m in sandbox.books.mutations() if m["type"] == 2 and str(m["invoiceNumber"]).startswith(prefix)]


def per_number(mutations: list[dict]) -> Counter:
    """How many mutations each sales number has (exactly once: all 1)."""
    return Counter(m["invoiceNumber"] for m in mutations)


def line(name: str, price: str, rate: str = "21", quantity: int = 1, sku: str = "") -> dict:
    """A line of an order spec for ShopState.create_order."""
    return {"name": name, "sku": sku or name[:8].upper(), "quantity": quantity, "tax_rate": rate, "unit_price_incl": price}


def customer(email: str, first: str, last: str, company: str = "", country: str = "NL", **address) -> dict:
    """Customer + invoice address fields of an order spec."""
    return {
        "customer": {"email": email, "firstname": first, "lastname": last, "company": company},
        "address": {"country": country, "firstname": first, "lastname": last, "company": company, "address1": "Dorpsstraat 1", "postcode": "1234 AB", "city": "Utrecht", **address},
    }


def asset_events(uri: str) -> list:
    """(source run id, source task id, extra) of each event of the asset with this URI, oldest first."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.source_run_id, AssetEvent.source_task_id, AssetEvent.extra).join(AssetModel, AssetModel.id == AssetEvent.asset_id).where(AssetModel.uri == uri).order_by(AssetEvent.id)
        ).all()
    return [tuple(r) for r in rows]
