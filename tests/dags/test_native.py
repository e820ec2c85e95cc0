"""Issue 27 through real Airflow: the DAGs' outlets and deadline alerts, the extra link as the API server makes it,
asset events from dag.test() runs (only when something was booked), and the OpenLineage events of one hourly run
emitted by the provider's own listener (``airflow dags test`` with a file transport)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pendulum
import pytest

from prestashop_eboekhouden.store import BOOKED, OPEN
from tests.dags.test_daily_experience import smtp_server  # noqa: F401 - fixture
from tests.e2e.conftest import AMS, REPO, asset_events, customer, fast, line, make_sandbox, run_dag, state_store, tenants_dir, write_tenant  # noqa: F401 - fixtures

HOURLY = "demo__orders_hourly"
NOTIFY = {"notify": {"email": ["boekhouding@shop.example"], "smtp_conn_id": "smtp_test"}}


@pytest.fixture
def eb_backend() -> str:
    return "rest"


def order(sandbox, at: str, state: int = 2) -> int:
    who = customer("klaartje.pietersen@example.nl", "Klaartje", "Pietersen")
    spec = {**who, "lines": [line("Earl Grey 100 g", "6.95", quantity=2)], "shipping_incl": "3.95", "shipping_rate": "21", "state": state,
            "date_add": at, "date_upd": at, "payment": "iDEAL", "module": "mollie"}
    return int(sandbox.shop.create_order(spec)["id"])


# ---- the DAGs ------------------------------------------------------------------------------------------------


def test_outlets_are_aliases_and_deadlines_come_with_notify(tenants_dir, monkeypatch):
    from airflow.sdk import AssetAlias

    from prestashop_eboekhouden.dag_factory import build_tenant_dags
    from prestashop_eboekhouden.deadlines import BookkeepingDue

    monkeypatch.delenv("PRESTA_EB_DEADLINES")
    write_tenant(tenants_dir, {})
    dags = build_tenant_dags()
    hourly = dags[HOURLY]
    assert hourly.get_task("report").outlets == [AssetAlias(name="demo: orders booked")]
    assert hourly.get_task("book_credits").outlets == [AssetAlias(name="demo: credits booked")]
    assert dags["demo__payments_daily"].get_task("report").outlets == [AssetAlias(name="demo: payments booked")]
    assert dags["demo__reconcile_daily"].get_task("reconcile").outlets == [AssetAlias(name="demo: differences found")]
    # each asset also an inlet, so Airflow registers it when it parses the DAG (not racing at two first events)
    assert [a.uri for a in hourly.get_task("report").inlets] == ["x-bookkeeping://demo/orders"]
    assert [a.uri for a in hourly.get_task("book_credits").inlets] == ["x-bookkeeping://demo/credits"]
    assert [a.uri for a in dags["demo__payments_daily"].get_task("report").inlets] == ["x-bookkeeping://demo/payments"]
    assert [a.uri for a in dags["demo__reconcile_daily"].get_task("reconcile").inlets] == ["x-bookkeeping://demo/differences"]
    assert not hourly.deadline  # the demo tenant has no notify section: no alerts

    write_tenant(tenants_dir, NOTIFY)
    dags = build_tenant_dags()
    assert [(a.reference, a.interval) for a in dags[HOURLY].deadline] == [(BookkeepingDue(), dt.timedelta(minutes=45))]
    assert [a.reference for a in dags["demo__open_orders_nightly"].deadline] == [BookkeepingDue(clock="06:00", timezone=AMS)]
    assert [a.reference for a in dags["demo__payments_daily"].deadline] == [BookkeepingDue(clock="09:00", timezone=AMS)]


def test_every_task_links_to_its_run_in_the_dashboard_as_the_api_server_makes_it(tenants_dir):
    """The serialized DAG, read back the way the API server reads it, carries the plugin's link on every task."""
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.serialization.serialized_objects import DagSerialization

    from prestashop_eboekhouden.dag_factory import build_tenant_dags

    dags = build_tenant_dags()
    for dag_id in (HOURLY, "demo__open_orders_nightly", "demo__payments_daily", "demo__reconcile_daily"):
        served = DagSerialization.from_dict(DagSerialization.to_dict(dags[dag_id]))
        for task in served.tasks:
            assert "Bookkeeping: this run" in task.extra_links, (dag_id, task.task_id)
    served = DagSerialization.from_dict(DagSerialization.to_dict(dags[HOURLY]))
    key = TaskInstanceKey(HOURLY, "book_orders", "scheduled__2026-11-20T10:00:00+00:00", 1, 0)
    url = served.get_task("book_orders").get_extra_links(SimpleNamespace(key=key), "Bookkeeping: this run")
    assert url.endswith("/bookkeeping/tenants/demo?tab=booked&run_id=scheduled__2026-11-20T10%3A00%3A00%2B00%3A00")
    served = DagSerialization.from_dict(DagSerialization.to_dict(dags["demo__reconcile_daily"]))
    key = TaskInstanceKey("demo__reconcile_daily", "reconcile", "scheduled__2026-11-21T06:00:00+00:00", 1, -1)
    url = served.get_task("reconcile").get_extra_links(SimpleNamespace(key=key), "Bookkeeping: this run")
    assert url.endswith("/bookkeeping/tenants/demo/reconcile?run_id=scheduled__2026-11-21T06%3A00%3A00%2B00%3A00")


# ---- asset events ------------------------------------------------------------------------------------------------


@pytest.mark.airflow
def test_an_asset_event_when_orders_or_slips_were_booked_and_none_for_a_run_that_booked_nothing(make_sandbox, state_store):
    sandbox = make_sandbox()
    before_orders, before_credits = len(asset_events("x-bookkeeping://demo/orders")), len(asset_events("x-bookkeeping://demo/credits"))
    booked = order(sandbox, "2026-11-20 10:30:00")
    run = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11))
    assert run.state == "success" and state_store.get_orders("demo", [booked])[booked]["state"] == BOOKED
    ((run_id, task_id, extra),) = asset_events("x-bookkeeping://demo/orders")[before_orders:]
    assert (run_id, task_id) == (run.run_id, "report")
    assert set(extra) == {
        "tenant", "kind", "states", "counters", "note", "errors", "dag_id", "run_id", "data_interval_start", "data_interval_end",
        "not_in_shop", "already_booked",  # issue 25: ids the shop does not know, and what was booked before
    }  # fmt: skip
    assert (extra["tenant"], extra["kind"], extra["counters"]["booked"], extra["states"]["booked"]) == ("demo", "orders", 1, {"count": 1, "amount_incl": "17.85"})
    assert (extra["dag_id"], extra["run_id"], extra["note"]) == (HOURLY, run.run_id, "1 booked")
    assert pendulum.parse(extra["data_interval_start"]) == pendulum.datetime(2026, 11, 20, 10, tz=AMS)
    assert pendulum.parse(extra["data_interval_end"]) == pendulum.datetime(2026, 11, 20, 11, tz=AMS)

    # an hour whose only order waits for a status: report runs, books nothing, emits nothing
    waiting = order(sandbox, "2026-11-20 11:30:00", state=1)
    quiet = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 12))
    assert quiet.state == "success" and state_store.get_orders("demo", [waiting])[waiting]["state"] == OPEN
    assert len(asset_events("x-bookkeeping://demo/orders")) == before_orders + 1

    # an hour with only a credit slip: book_credits books it and emits the credits asset (no orders event)
    first = min(int(d["id"]) for d in sandbox.shop.order_details(booked))
    sandbox.shop.create_slip({"order": booked, "date_add": "2026-11-20 12:40:00", "lines": [{"detail": first, "quantity": 1}]})
    refund = run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 13))
    assert refund.state == "success"
    ((run_id, task_id, extra),) = asset_events("x-bookkeeping://demo/credits")[before_credits:]
    assert (run_id, task_id, extra["kind"], extra["counters"]["booked"], extra["slips"]["slips_ready"]) == (refund.run_id, "book_credits", "credits", 1, 1)
    assert len(asset_events("x-bookkeeping://demo/orders")) == before_orders + 1


# ---- OpenLineage --------------------------------------------------------------------------------------------------


@pytest.mark.airflow
def test_lineage_is_not_asked_for_when_openlineage_is_off(make_sandbox, state_store, monkeypatch):
    """No transport configured (the tests' default): the provider's plugin registers no listener, nothing asks."""
    from airflow.providers.openlineage import conf as ol_conf

    from prestashop_eboekhouden import lineage

    assert ol_conf.is_disabled()
    asked = []
    monkeypatch.setattr(lineage, "operator_lineage", lambda *args: asked.append(args))
    sandbox = make_sandbox()
    order(sandbox, "2026-11-20 10:30:00")
    assert run_dag(HOURLY, hour=dt.datetime(2026, 11, 20, 11)).state == "success"
    assert asked == []


@pytest.mark.airflow
def test_one_hourly_runs_lineage_events_through_the_providers_listener(make_sandbox, state_store, tmp_path, airflow_home):
    """`airflow dags test` with a file transport: the provider's listener asks the operators and writes the events."""
    sandbox = make_sandbox()
    ids = [order(sandbox, "2026-11-20 10:20:00"), order(sandbox, "2026-11-20 10:40:00")]
    first = min(int(d["id"]) for d in sandbox.shop.order_details(ids[0]))
    sandbox.shop.create_slip({"order": ids[0], "date_add": "2026-11-20 10:50:00", "lines": [{"detail": first, "quantity": 1}]})
    events_file = tmp_path / "openlineage.jsonl"
    env = {
        **os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)]),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events_file), "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "bookkeeping-test",
    }
    when = pendulum.datetime(2026, 11, 20, 11, tz=AMS).isoformat()
    done = subprocess.run([sys.executable, "-m", "airflow", "dags", "test", HOURLY, when], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {row["state"] for row in state_store.get_orders("demo", ids).values()} == {BOOKED}

    events = [json.loads(text) for text in events_file.read_text().splitlines() if text.strip()]
    complete = {e["job"]["name"].split(".", 1)[1].split(".")[0] if "." in e["job"]["name"] else e["job"]["name"]: e for e in events
                if e["eventType"] == "COMPLETE" and e["job"]["name"].startswith(HOURLY + ".")}
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / "openlineage-hourly-run.json").write_text(json.dumps(events, indent=2))

    def datasets(event: dict, side: str) -> list[tuple]:
        facet = "inputStatistics" if side == "inputs" else "outputStatistics"
        facets = "inputFacets" if side == "inputs" else "outputFacets"
        return [(d["namespace"], d["name"], d[facets][facet]["rowCount"]) for d in event[side]]

    shop = "prestashop://" + sandbox.prestashop_url.split("://", 1)[1].rstrip("/")
    eb = "eboekhouden://" + sandbox.eboekhouden_url.split("://", 1)[1].rstrip("/")
    assert datasets(complete["extract_orders"], "inputs") == [(shop, "orders", 2)]
    assert datasets(complete["validate_orders"], "inputs") == [(shop, "orders", 2)]
    assert datasets(complete["book_orders"], "inputs") == [(shop, "orders", 2)]
    assert datasets(complete["book_orders"], "outputs") == [(eb, "eboekhouden_demo/sales", 2), (eb, "eboekhouden_demo/relations", 1)]
    assert datasets(complete["book_credits"], "inputs") == [(shop, "order_slip", 1)]
    assert datasets(complete["book_credits"], "outputs") == [(eb, "eboekhouden_demo/sales", 1), (eb, "eboekhouden_demo/relations", 0)]
    assert complete["book_orders"]["run"]["facets"]["bookkeeping"]["counts"]["booked"] == 2
    assert complete["report"]["inputs"] == [] and complete["report"]["outputs"] == []


# ---- the deadline callback, as the executor runs it ---------------------------------------------------------------


def test_the_deadline_callback_e_mails_the_tenants_addresses_and_says_when_its_connection_is_out_of_reach(tenants_dir, smtp_server, monkeypatch):
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier
    from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied

    from prestashop_eboekhouden.deadlines import deadline_missed

    write_tenant(tenants_dir, {"notify": {**NOTIFY["notify"], "dashboard_url": "https://airflow.shop.example"}})
    dag_run = {"dag_id": HOURLY, "dag_run_id": "scheduled__2026-11-20T09:00:00+00:00", "state": "running",
               "data_interval_start": "2026-11-20T09:00:00Z", "data_interval_end": "2026-11-20T10:00:00Z", "queued_at": "2026-11-20T10:00:02Z"}
    # the keyword arguments Airflow's callback supervisor passes: the callback's kwargs and the small context
    deadline_missed(tenant="demo", limit="45 minutes after its hour", context={"dag_run": dag_run, "deadline": {"id": "x", "deadline_time": "2026-11-20T10:45:02Z"}})
    ((to, message),) = smtp_server.messages
    assert to == ["boekhouding@shop.example"]
    assert message["Subject"] == f"[demo] {HOURLY} (2026-11-20 10:00-11:00) has not finished 45 minutes after its hour"

    def denied(self, context):
        raise AirflowSecretsBackendAccessDenied("Access denied for connection 'smtp_test' by Execution API")

    monkeypatch.setattr(SmtpNotifier, "notify", denied)
    with pytest.raises(RuntimeError, match="through the environment \\(AIRFLOW_CONN_SMTP_TEST\\) or a secrets backend"):
        deadline_missed(tenant="demo", limit="45 minutes after its hour", context={"dag_run": dag_run})
