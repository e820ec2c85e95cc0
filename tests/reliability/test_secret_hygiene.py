"""Recognizable fake credentials through real Airflow runs, errors included: they show up nowhere a person or a
later task can read — task output and logs, XCom, the state store, the dashboard's JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.conftest import ANCHOR, BACKENDS, all_history, connect, run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(300)]

PS_SECRET = "PSKEYcanaryQ7Z4XW9V2M8N1B3C5D6F0"  # 32 characters like a real webservice key
EB_SECRET = "eb-token-canary-7f3a9c1e-5b2d-4e8f-a6c0-d9b4e2f1a3c7"
SOAP_CODE_1, SOAP_CODE_2 = "soapcode1canary8d2e6f1a9b", "soapcode2canary4c7b3e0d5f"  # legacy SOAP security codes
CANARIES = (PS_SECRET, EB_SECRET, SOAP_CODE_1, SOAP_CODE_2)


def leaks(text: str | bytes, where: str) -> list[str]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [f"{where} holds {secret[:12]}…" for secret in CANARIES if secret in text]


def dashboard_json(store, monkeypatch) -> str:
    """Every JSON answer (and the page) of the dashboard for the demo tenant, as a logged-in admin sees them.

    The login itself is tested in tests/ui against the real API server; here only what the pages show matters.
    """
    from fastapi.testclient import TestClient

    from prestashop_eboekhouden.ui import access
    from prestashop_eboekhouden.ui import app as ui

    async def admin(request):
        return "admin"

    monkeypatch.setattr(access, "current_user", admin)
    monkeypatch.setattr(access, "may", lambda user, tenant, method: True)
    with TestClient(ui.create_app(store)) as client:
        answers = [client.get(path) for path in ("/api/tenants", "/api/tenants/demo/config", "/api/tenants/demo/health", "/api/tenants/demo/payments")]
        answers += [client.get("/api/tenants/demo/orders", params={"state": state}) for state in ("open", "booked", "error")]
        answers += [client.get("/tenants/demo", params={"tab": tab}) for tab in ("booked", "error", "open", "payments", "config")]
    assert all(a.status_code == 200 for a in answers), [(a.url, a.status_code) for a in answers]
    return "\n".join(a.text for a in answers)


def xcom_values(dag_ids: list[str]) -> str:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(select(XComModel.dag_id, XComModel.key, XComModel.value).where(XComModel.dag_id.in_(dag_ids))).all()
    assert rows, "the runs left no XCom at all: the check would see nothing"
    return "\n".join(f"{dag_id} {key} {json.dumps(value, default=str)}" for dag_id, key, value in rows)


@pytest.mark.parametrize("eb_backend", BACKENDS, indirect=True)
def test_fake_credentials_appear_nowhere(make_sandbox, state_store, monkeypatch, capfd, caplog, airflow_home, tmp_path, eb_backend):
    caplog.set_level(logging.DEBUG)
    sandbox = make_sandbox(
        orders=40, days_back=2, prestashop_key=PS_SECRET, eboekhouden_token=EB_SECRET, soap_security_code_1=SOAP_CODE_1, soap_security_code_2=SOAP_CODE_2
    )
    connect(sandbox, monkeypatch, ps_key=PS_SECRET, eb_token=EB_SECRET, backend=eb_backend, soap_codes=(SOAP_CODE_1, SOAP_CODE_2))
    if eb_backend == "rest":  # sessions expire mid-run (401 → renewed with the token): the renewal path logs too
        sandbox.add_fault_rule("eboekhouden", method="POST", path="/v1/mutation", action="status", status=401, after=3, times=2)
    else:  # SOAP sessions expire mid-run (renewed with the security codes) and two writes fail: the error paths log too
        sandbox.add_fault_rule("eboekhouden_soap", method="POST", path="/soap.asmx/GetRelaties", action="status", status=500, after=3, times=2)
    assert run_dag("demo__orders_hourly", conf=all_history()).state == "success"
    sandbox.books.expire_sessions()
    assert run_dag("demo__open_orders_nightly", hour=ANCHOR + dt.timedelta(hours=14)).state == "success"

    # and the same credentials, wrong for the servers: the failing runs' errors must not quote what was sent
    connect(sandbox, monkeypatch, ps_key=PS_SECRET + "x", eb_token=EB_SECRET + "x", backend=eb_backend, soap_codes=(SOAP_CODE_1 + "x", SOAP_CODE_2 + "x"))
    assert run_dag("demo__orders_hourly", conf=all_history(), retries=0).state == "failed"

    out, err = capfd.readouterr()
    found = leaks(out, "task output") + leaks(err, "task stderr") + leaks(caplog.text, "log records")
    said = out + err + caplog.text
    assert "Unauthorized" in said or "401" in said or "refused the username or security codes" in said  # the failure was logged at all
    for path in Path(airflow_home, "logs").rglob("*") if Path(airflow_home, "logs").exists() else []:
        if path.is_file():
            found += leaks(path.read_bytes(), f"log file {path.name}")
    found += leaks(xcom_values(["demo__orders_hourly", "demo__open_orders_nightly"]), "XCom")
    db_file = Path(state_store.engine.url.database)
    assert db_file.stat().st_size > 0 and state_store.counts("demo")["booked"] > 0
    found += leaks(db_file.read_bytes(), "state store")
    found += leaks(dashboard_json(state_store, monkeypatch), "dashboard")
    assert not found, found
