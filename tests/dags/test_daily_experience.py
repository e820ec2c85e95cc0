"""The daily use of the DAGs: params with a schema, fail-fast without retries, logs that name orders,
readable batch labels, the run's note, and the e-mail about new Errors through Airflow's SMTP notifier
(received by a local SMTP server)."""

from __future__ import annotations

import datetime as dt
import json
import socket
from email import message_from_bytes
from email.message import Message
from types import SimpleNamespace

import pytest

from prestashop_eboekhouden.store import BOOKED, ERROR
from tests.e2e.conftest import customer, fast, line, make_sandbox, run_dag, state_store, tenants_dir, write_tenant  # noqa: F401 - fixtures

HOURLY = "demo__orders_hourly"


@pytest.fixture
def eb_backend() -> str:
    return "rest"


# ---- params with a schema --------------------------------------------------------------------------


def _validated(conf: dict):
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.dag_factory import hourly_params

    params = hourly_params(get_tenant("demo"))
    for key, value in conf.items():
        params[key] = value
    params.validate()


@pytest.mark.parametrize(
    "conf",
    [
        {"order_ids": [1041, 1042]},
        {"order_ids": []},
        {"since": "2026-11-20T10:00", "until": "2026-11-20T18:00:00+01:00"},
        {"since": "2026-11-20T10:00:00.5Z"},
        {"order_ids": [2**63 - 1]},
    ],
)
def test_params_schema_accepts(conf):
    _validated(conf)


@pytest.mark.parametrize(
    "conf, says",
    [
        ({"order_ids": ["abc"]}, "is not of type 'integer'"),
        ({"order_ids": [0]}, "less than the minimum of 1"),
        ({"order_ids": [-5]}, "less than the minimum of 1"),
        ({"order_ids": [2**63]}, "greater than the maximum"),
        ({"order_ids": 1041}, "is not of type 'array'"),
        ({"order_ids": list(range(1, 1002))}, "is too long"),
        ({"since": "last week"}, "does not match"),
        ({"until": "2026-11-20"}, "does not match"),
    ],
)
def test_params_schema_refuses(conf, says):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=says):
        _validated(conf)


def test_param_hints_say_what_the_form_accepts():
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.dag_factory import build_tenant_dags, hourly_params

    params = hourly_params(get_tenant("demo"))
    assert "JSON list such as [1041, 1042]" in params.get_param("order_ids").description
    assert params.get_param("order_ids").schema["items"]["type"] == "integer"  # the form's JSON editor, not lines of text
    assert params.get_param("since").schema["format"] == "date-time"  # the form's date picker
    dag = build_tenant_dags()[HOURLY]
    assert dag.params.get_param("order_ids").schema == params.get_param("order_ids").schema


def test_a_bad_param_fails_the_task_at_once_without_retries():
    from airflow.sdk.exceptions import AirflowFailException

    from prestashop_eboekhouden.operators.tasks import CannotRun, ExtractOrdersOperator, order_ids_param

    assert issubclass(CannotRun, AirflowFailException)
    with pytest.raises(AirflowFailException, match="at most 9223372036854775807"):
        order_ids_param([2**63])
    task = ExtractOrdersOperator(task_id="extract_orders", tenant="demo")
    context = {
        "params": {"since": "2026-11-20T18:00", "until": "2026-11-20T10:00", "order_ids": []},
        "run_id": "manual__x", "ti": SimpleNamespace(), "dag_run": SimpleNamespace(run_after=None),
    }
    with pytest.raises(AirflowFailException, match="until must be after since"):
        task.execute(context)


def test_an_unknown_tenant_file_fails_without_retries(tenants_dir):
    from airflow.sdk.exceptions import AirflowFailException

    from prestashop_eboekhouden.operators.tasks import ExtractOrdersOperator

    task = ExtractOrdersOperator(task_id="extract_orders", tenant="gone")
    with pytest.raises(AirflowFailException, match="Tenant gone: No tenant file for tenant 'gone'"):
        task.tenant_config()
    (tenants_dir / "broken.yaml").write_text("tenant: broken\nstart_date: 2026-01-01\nprestashop: {process_statuses: []}\nvat: {rates: {}}\n")
    with pytest.raises(AirflowFailException, match="prestashop.process_statuses"):
        ExtractOrdersOperator(task_id="extract_orders", tenant="broken").tenant_config()


@pytest.mark.airflow
def test_a_window_param_error_fails_the_run_after_one_try(make_sandbox, state_store):
    make_sandbox()
    run = run_dag(HOURLY, conf={"since": "2026-11-20T18:00", "until": "2026-11-20T10:00"}, retries=3)
    assert run.state == "failed"
    extract = _tis(run.run_id)["extract_orders"]
    assert extract.state == "failed" and extract.try_number == 1  # 3 retries allowed, none used


# ---- log tables, labels, notes -------------------------------------------------------------------


def test_order_tables_for_the_logs():
    from prestashop_eboekhouden.pipeline.report import batch_label, outcome_table, refused_table, run_note

    assert batch_label("orders", [1088, 1041, 1050]) == "orders 1041–1088 (3)"
    assert batch_label("orders", [7]) == "orders 7"
    rows = {
        1: {"state": BOOKED, "run_id": "r", "reason": None, "sales_number": "DEMO-A", "relation_code": "JanJansen"},
        2: {"state": BOOKED, "run_id": "r", "reason": "Adopted the booking e-Boekhouden already had", "sales_number": "DEMO-B", "relation_code": "Piet"},
        3: {"state": ERROR, "run_id": "r", "reason": "MUT_109 Invalid VAT code", "error_code": "MUT_109", "sales_number": "DEMO-C", "relation_code": "Els"},
        4: {"state": "open", "run_id": "r", "reason": "Ready to book", "intent_at": dt.datetime(2026, 11, 20, 10), "sales_number": "DEMO-D", "relation_code": None},
        5: {"state": BOOKED, "run_id": "older", "reason": None, "sales_number": "DEMO-E", "relation_code": "Ans"},
    }
    assert outcome_table([1, 2, 3, 4, 5], rows, "r", {4}).splitlines() == [
        "order  sales number  debtor     outcome",
        "-----  ------------  ---------  -------------------------------------------------------------",
        "1      DEMO-A        JanJansen  booked",
        "2      DEMO-B        Piet       adopted (e-Boekhouden already had it)",
        "3      DEMO-C        Els        refused MUT_109: MUT_109 Invalid VAT code",
        "4      DEMO-D                   pending: answer lost (in doubt), looked up again on the retry",
        "5      DEMO-E        Ans        already booked (earlier run)",
    ]
    refused = refused_table([{"order_id": 12, "reference": "XKBK", "error_code": "CONFIG", "reason": "No VAT mapping for 9% on line 1 'Tea'"}])
    assert refused.splitlines()[2] == "12     XKBK       CONFIG  No VAT mapping for 9% on line 1 'Tea'"
    summary = {"kind": "orders", "states": {"open": {"count": 0}, "booked": {"count": 12}, "error": {"count": 3}}, "counters": {"booked": 12, "adopted": 0}}
    errors = [{"order_id": 1041, "error_code": "MUT_109"}, {"order_id": 1042, "error_code": "CONFIG"}, {"order_id": 1043, "error_code": "CONFIG"}]
    assert run_note(summary, errors) == "12 booked, 3 to Errors: 1041 (MUT_109), 1042 (CONFIG), 1043 (CONFIG)"
    nothing = {"kind": "orders", "states": {"open": {"count": 0}, "booked": {"count": 0}, "error": {"count": 0}}, "counters": {}}
    assert run_note(nothing, []) == "No orders in this run"


# ---- a run with Errors: note, batch label, e-mail ---------------------------------------------------


@pytest.fixture
def smtp_server(monkeypatch):
    """A local SMTP server (aiosmtpd) that keeps what it receives; the smtp_test connection points at it."""
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[tuple[list[str], Message]] = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's controller cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_TEST",
        json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@shop.example"}}),
    )
    yield inbox
    controller.stop()


def _tis(run_id: str) -> dict:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.query(TaskInstance).filter(TaskInstance.dag_id == HOURLY, TaskInstance.run_id == run_id).all()
        session.expunge_all()
    return {(ti.task_id if ti.map_index < 0 else (ti.task_id, ti.map_index)): ti for ti in tis}


def _note(run_id: str) -> str | None:
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.query(DagRun).filter(DagRun.dag_id == HOURLY, DagRun.run_id == run_id).one().note


def _html(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    return part.get_payload(decode=True).decode()


@pytest.mark.airflow
def test_a_run_with_errors_has_a_note_a_batch_label_and_sends_an_e_mail(make_sandbox, state_store, tenants_dir, smtp_server):
    from prestashop_eboekhouden.ui.hints import fix_hint

    write_tenant(tenants_dir, {"notify": {"email": ["boekhouding@shop.example"], "smtp_conn_id": "smtp_test", "dashboard_url": "https://airflow.shop.example"}})
    sandbox = make_sandbox()
    who = customer("klaartje.pietersen@example.nl", "Klaartje", "Pietersen")
    good = int(sandbox.shop.create_order({**who, "lines": [line("Earl Grey 100 g", "6.95")], "state": 2, "date_add": "2026-11-20 10:30:00", "date_upd": "2026-11-20 10:30:00", "payment": "iDEAL", "module": "mollie"})["id"])
    bad = int(
        sandbox.shop.create_order(
            {**customer("g@example.fr", "Gilles", "Martin", country="FR", city="Lille"), "lines": [line("Thé vert", "12.00", "20")], "state": 2,
             "date_add": "2026-11-20 10:40:00", "date_upd": "2026-11-20 10:40:00", "payment": "iDEAL", "module": "mollie"}
        )["id"]
    )
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11))
    assert run.state == "success"
    rows = state_store.get_orders("demo", [good, bad])
    assert (rows[good]["state"], rows[bad]["state"]) == (BOOKED, ERROR)

    assert _note(run.run_id) == f"1 booked, 1 to Errors: {bad} (CONFIG)"
    tis = _tis(run.run_id)
    assert tis[("book_orders", 0)].rendered_map_index == f"orders {good}"

    ((to, message),) = smtp_server.messages
    assert to == ["boekhouding@shop.example"]
    assert message["Subject"] == f"[demo] 1 order to Errors in run {run.run_id}"
    body = _html(message)
    reason = "No VAT mapping for 20% (delivery country FR) on line 1 &#x27;Thé vert&#x27;"
    assert f"<td>{bad}</td><td>{rows[bad]['reference']}</td><td>12.00</td><td>CONFIG</td><td>{reason}</td>" in body
    assert fix_hint("CONFIG", rows[bad]["reason"]).replace('"', "&quot;") in body
    assert 'href="https://airflow.shop.example/bookkeeping/tenants/demo?tab=error"' in body
    assert f"https://airflow.shop.example/dags/{HOURLY}/runs/{run.run_id}" in body

    # a run without new Errors sends nothing
    again = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12))
    assert again.state == "success" and len(smtp_server.messages) == 1
    assert _note(again.run_id) == "No orders in this run"


@pytest.mark.airflow
def test_daily_digest_instead_of_one_e_mail_per_run(make_sandbox, state_store, tenants_dir, smtp_server):
    write_tenant(tenants_dir, {"notify": {"email": ["boekhouding@shop.example"], "smtp_conn_id": "smtp_test", "digest": "daily"}})
    sandbox = make_sandbox()
    bad = int(
        sandbox.shop.create_order(
            {**customer("g@example.fr", "Gilles", "Martin", country="FR", city="Lille"), "lines": [line("Thé vert", "12.00", "20")], "state": 2,
             "date_add": "2026-11-20 10:40:00", "date_upd": "2026-11-20 10:40:00", "payment": "iDEAL", "module": "mollie"}
        )["id"]
    )
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert smtp_server.messages == []  # no e-mail per run
    assert run_dag("demo__open_orders_nightly").state == "success"
    ((to, message),) = smtp_server.messages
    assert message["Subject"] == "[demo] 1 order went to Errors in the last 24 hours"
    assert f"<td>{bad}</td>" in _html(message)


def test_notify_section_of_the_tenant_file(tmp_path):
    from prestashop_eboekhouden.config import InvalidTenantFile, load_tenant_file

    text = "tenant: shop\nstart_date: 2026-01-01\nprestashop: {process_statuses: [2]}\nvat: {rates: {'21': {vat_code: HOOG_VERK_21, revenue_ledger: '8000'}}}\n"
    path = tmp_path / "shop.yaml"
    path.write_text(text + "notify:\n  email: [boekhouding@shop.example]\n  on: [errors]\n  digest: daily\n")
    notify = load_tenant_file(path).notify
    assert (notify.email, notify.on, notify.digest, notify.smtp_conn_id) == (["boekhouding@shop.example"], ["errors"], "daily", "smtp_default")
    path.write_text(text + "notify:\n  email: [boekhouding]\n  on: [errors, sometimes]\n")
    with pytest.raises(InvalidTenantFile) as caught:
        load_tenant_file(path)
    assert "notify.email: 'boekhouding' is not an e-mail address" in str(caught.value)
    assert "notify.on.1: Input should be 'errors', 'failure' or 'differences'" in str(caught.value)


def test_failure_e_mail_names_the_failure_and_the_errors():
    from prestashop_eboekhouden.notify import compose

    subject, body = compose(
        "demo", [{"order_id": 1041, "reference": "XKBK", "amount_incl": None, "error_code": "MUT_109", "reason": "MUT_109 Invalid VAT code", "attempts": 3}],
        base="https://airflow.example", dag_id=HOURLY, run_id="scheduled__x", failure="1 of 2 booking batches failed",
    )
    assert subject == f"[demo] Bookkeeping run failed: {HOURLY} (1 order to Errors)"
    assert "<p><b>The run failed:</b> 1 of 2 booking batches failed</p>" in body
    assert "<td>1041</td><td>XKBK</td><td></td><td>MUT_109</td><td>MUT_109 Invalid VAT code</td><td>3</td>" in body
    assert "e-Boekhouden MUT_109: Invalid VAT code." in body
