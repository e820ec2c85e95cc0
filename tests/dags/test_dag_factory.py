"""The generated DAGs: ids per tenant file, real hourly windows, isolation of invalid tenant files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pytest
import yaml

from prestashop_eboekhouden.config import load_tenants
from prestashop_eboekhouden.dag_factory import build_tenant_dags

REPO = Path(__file__).resolve().parents[2]
DEMO = yaml.safe_load((REPO / "include/tenants/demo.yaml").read_text())
AMS = pendulum.timezone("Europe/Amsterdam")


def _dagbag(monkeypatch, folder: Path | None = None):
    from airflow.dag_processing.dagbag import DagBag

    if folder is not None:
        monkeypatch.setenv("PRESTA_EB_TENANTS_DIR", str(folder))
    return DagBag(str(REPO / "dags"))


def _write(folder: Path, name: str, data: dict | str) -> None:
    (folder / name).write_text(data if isinstance(data, str) else yaml.safe_dump(data))


def test_dagbag_loads_the_repo_without_import_errors(monkeypatch):
    bag = _dagbag(monkeypatch)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == [
        "demo__open_orders_nightly", "demo__orders_hourly", "demo__payments_daily", "demo__reconcile_daily",
        "demo_legacy__open_orders_nightly", "demo_legacy__orders_hourly", "demo_legacy__payments_daily", "demo_legacy__reconcile_daily",
    ]  # fmt: skip


def test_each_tenant_file_gives_exactly_its_dag_ids(tmp_path, monkeypatch):
    _write(tmp_path, "shop_a.yaml", {**DEMO, "tenant": "shop_a"})
    _write(tmp_path, "shop_b.yaml", {**DEMO, "tenant": "shop_b", "payments": {"enabled": False}, "reconcile": {"enabled": False}})
    bag = _dagbag(monkeypatch, tmp_path)
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == [
        "shop_a__open_orders_nightly", "shop_a__orders_hourly", "shop_a__payments_daily", "shop_a__reconcile_daily",
        "shop_b__open_orders_nightly", "shop_b__orders_hourly",
    ]


def test_invalid_tenant_file_is_an_import_error_and_the_others_still_load(tmp_path, monkeypatch):
    _write(tmp_path, "good.yaml", {**DEMO, "tenant": "good"})
    _write(tmp_path, "bad.yaml", {**DEMO, "tenant": "bad", "eboekhouden": {"book_as": "journal"}})
    bag = _dagbag(monkeypatch, tmp_path)
    assert sorted(bag.dag_ids) == ["good__open_orders_nightly", "good__orders_hourly", "good__payments_daily", "good__reconcile_daily"]
    assert list(bag.import_errors) == [str(REPO / "dags/tenant_config_check.py")]
    message = next(iter(bag.import_errors.values()))
    assert f"Invalid tenant file {tmp_path / 'bad.yaml'}" in message
    assert "eboekhouden.book_as: Input should be 'mutation' or 'invoice'" in message


def _scheduled(dag_id: str):
    """The DAG as the scheduler sees it (serialized and back), with the scheduler's timetable."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(build_tenant_dags()[dag_id]))


def test_hourly_window_for_ten_oclock_is_ten_to_eleven_local():
    dag = _scheduled("demo__orders_hourly")
    last = pendulum.datetime(2026, 11, 20, 9, tz=AMS)
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=_interval(last, last.add(hours=1)), restriction=_restriction(dag)
    )
    assert info.data_interval.start == pendulum.datetime(2026, 11, 20, 10, tz=AMS)
    assert info.data_interval.end == pendulum.datetime(2026, 11, 20, 11, tz=AMS)
    manual = dag.timetable.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 20, 11, 0, 30, tz=AMS))
    assert (manual.start, manual.end) == (pendulum.datetime(2026, 11, 20, 10, tz=AMS), pendulum.datetime(2026, 11, 20, 11, tz=AMS))


def test_hourly_windows_are_contiguous_across_the_dst_change():
    dag = _scheduled("demo__orders_hourly")
    start = pendulum.datetime(2026, 10, 24, 23, tz=AMS)
    interval = _interval(start, start.add(hours=1))
    covered = dt.timedelta()
    for _ in range(6):
        info = dag.timetable.next_dagrun_info(last_automated_data_interval=interval, restriction=_restriction(dag))
        assert info.data_interval.start == interval.end  # no gap, no overlap
        assert info.data_interval.end - info.data_interval.start == dt.timedelta(hours=1)
        covered += info.data_interval.end - info.data_interval.start
        interval = info.data_interval
    assert covered == dt.timedelta(hours=6)


def test_dag_settings():
    dags = build_tenant_dags()
    hourly, nightly, payments = dags["demo__orders_hourly"], dags["demo__open_orders_nightly"], dags["demo__payments_daily"]
    for dag in (hourly, nightly, payments):
        assert dag.catchup is False
        assert dag.max_active_runs == 1
        assert "demo" in dag.tags
        assert dag.doc_md and "demo" in dag.doc_md
        assert dag.start_date == pendulum.datetime(2026, 1, 1, tz=AMS)
        for task in dag.tasks:
            assert task.retries == 3 and task.retry_exponential_backoff
    assert [t.task_id for t in hourly.topological_sort()] == ["extract_orders", "validate_orders", "book_orders", "report", "book_credits"]
    # credit slips after the orders are booked, a leaf of their own (its failure fails the run), whatever the batches did
    for dag, mode in ((hourly, "window"), (nightly, "recheck")):
        credits = dag.get_task("book_credits")
        assert credits.upstream_task_ids == {"book_orders"} and not credits.downstream_task_ids
        assert (credits.mode, credits.trigger_rule, credits.pool) == (mode, "all_done", "eboekhouden_demo")
    assert [t.task_id for t in payments.topological_sort()] == ["extract_payments", "book_payments", "report"]
    assert hourly.get_task("book_orders").pool == "eboekhouden_demo"
    assert payments.get_task("book_payments").pool == "eboekhouden_demo"
    assert set(hourly.params) == {"order_ids", "since", "until"}
    assert _scheduled("demo__open_orders_nightly").timetable.summary == "0 2 * * *"
    assert _scheduled("demo__payments_daily").timetable.summary == "0 6 * * *"


def test_a_task_run_builds_only_its_own_dag(monkeypatch):
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "demo__payments_daily")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "extract_payments")
    assert list(build_tenant_dags()) == ["demo__payments_daily"]


def test_parse_time_reads_only_tenant_files(tmp_path, monkeypatch):
    """No network, database or Variable at parse time: the factory runs with no Airflow DB at all."""
    for i in range(20):
        _write(tmp_path, f"t{i}.yaml", {**DEMO, "tenant": f"t{i}"})
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite:////nonexistent/dir/airflow.db")
    assert len(build_tenant_dags(tmp_path)) == 80
    assert len(load_tenants(tmp_path).tenants) == 20


def _interval(start, end):
    from airflow.timetables.base import DataInterval

    return DataInterval(start=start, end=end)


def _restriction(dag):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)  # as a backfill walks the hours


def test_trigger_params_are_checked_with_clear_messages():
    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.operators.tasks import CannotRun, order_ids_param, shop_window

    assert order_ids_param([1041, "1042", 1041]) == [1041, 1042]
    assert order_ids_param("1041, 1042") == [1041, 1042]
    assert order_ids_param(None) == []
    with pytest.raises(CannotRun, match="whole numbers"):
        order_ids_param(["abc"])
    config = get_tenant("demo")
    interval = {"data_interval_start": pendulum.datetime(2026, 11, 20, 9, tz="UTC"), "data_interval_end": pendulum.datetime(2026, 11, 20, 10, tz="UTC")}
    assert shop_window({**interval, "params": {}}, config) == (dt.datetime(2026, 11, 20, 10), dt.datetime(2026, 11, 20, 11))
    assert shop_window({**interval, "params": {"since": "2026-11-01T00:00"}}, config)[0] == dt.datetime(2026, 11, 1)
    with pytest.raises(CannotRun, match="Param since must be an ISO time"):
        shop_window({**interval, "params": {"since": "last week"}}, config)


def test_a_run_without_data_interval_takes_the_last_hour_or_since_until_triggered():
    from types import SimpleNamespace

    from prestashop_eboekhouden.config import get_tenant
    from prestashop_eboekhouden.operators.tasks import shop_window

    config = get_tenant("demo")
    run = SimpleNamespace(run_after=pendulum.datetime(2026, 11, 20, 10, 17, tz="UTC"))
    assert shop_window({"dag_run": run, "params": {}}, config) == (dt.datetime(2026, 11, 20, 10), dt.datetime(2026, 11, 20, 11))
    since = shop_window({"dag_run": run, "params": {"since": "2026-11-16T00:00:00+01:00"}}, config)
    assert since == (dt.datetime(2026, 11, 16), dt.datetime(2026, 11, 20, 11, 17))


def test_a_tenant_without_credit_slips_has_no_credit_task(tmp_path, monkeypatch):
    _write(tmp_path, "plain.yaml", {**DEMO, "tenant": "plain", "prestashop": {**DEMO["prestashop"], "credit_slips": False}})
    _write(tmp_path, "refunds.yaml", {**DEMO, "tenant": "refunds"})
    monkeypatch.setenv("PRESTA_EB_TENANTS_DIR", str(tmp_path))
    dags = build_tenant_dags(tmp_path)
    for name in ("orders_hourly", "open_orders_nightly"):
        assert "book_credits" not in dags[f"plain__{name}"].task_ids
        assert "book_credits" in dags[f"refunds__{name}"].task_ids
