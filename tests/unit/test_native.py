"""Issue 27's pure parts: the tenant file's new settings, when a deadline counts from, the alert's e-mail, the links,
the asset events' rule and the OpenLineage answer of the operators (with the provider's own classes)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import yaml

from prestashop_eboekhouden.config import InvalidTenantFile, load_tenant_file

BASE = "tenant: shop\nstart_date: 2026-01-01\nprestashop: {process_statuses: [2]}\nvat: {rates: {'21': {vat_code: HOOG_VERK_21, revenue_ledger: '8000'}}}\n"
NOTIFY = "notify: {email: [boekhouding@shop.example]}\n"
UTC = dt.UTC


def load(tmp_path, text: str):
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    return load_tenant_file(path)


# ---- the tenant file -------------------------------------------------------------------------------------------


def test_deadlines_default_on_with_notify_and_their_clock_times_survive_yaml(tmp_path):
    config = load(tmp_path, BASE + NOTIFY)
    assert (config.deadlines.enabled, config.deadlines.hourly_minutes, config.deadlines.nightly_by, config.deadlines.payments_by) == (True, 45, "06:00", "09:00")
    # YAML 1.1 reads an unquoted 10:30 as the number 630 (base 60): it is the time of day again
    assert yaml.safe_load("t: 10:30") == {"t": 630}
    config = load(tmp_path, BASE + NOTIFY + "deadlines: {hourly_minutes: 20, nightly_by: 10:30, payments_by: null}\n")
    assert (config.deadlines.hourly_minutes, config.deadlines.nightly_by, config.deadlines.payments_by) == (20, "10:30", None)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (BASE + "deadlines: {hourly_minutes: 30}\n", "deadlines: a deadline alert is an e-mail to notify.email: add a notify section"),
        (BASE + NOTIFY + "deadlines: {nightly_by: '25:00'}\n", "deadlines.nightly_by: String should match pattern"),
        (BASE + NOTIFY + "deadlines: {hourly_minutes: 0}\n", "deadlines.hourly_minutes: Input should be greater than 0"),
        (BASE.replace("{process_statuses: [2]}", "{process_statuses: [2], admin_url: 'admin123'}"), "prestashop.admin_url: String should match pattern"),
    ],
)
def test_bad_new_settings_name_the_field(tmp_path, text, problem):
    with pytest.raises(InvalidTenantFile) as caught:
        load(tmp_path, text)
    assert problem in str(caught.value)


def test_deadlines_off_without_notify_is_fine(tmp_path):
    assert load(tmp_path, BASE + "deadlines: {enabled: false}\n").deadlines.enabled is False
    assert load(tmp_path, BASE).notify is None  # no notify, no deadlines section: nothing to say


# ---- when a deadline counts from ------------------------------------------------------------------------------


def test_an_hourly_run_is_due_at_the_end_of_its_hour_or_when_queued_if_later():
    from prestashop_eboekhouden.deadlines import due_at

    end = dt.datetime(2026, 11, 20, 10, tzinfo=UTC)
    now = dt.datetime(2026, 12, 3, tzinfo=UTC)
    # the scheduler queues the 09-10 hour a few seconds after 10:00: due at 10:00:05
    assert due_at("scheduled", end, end, end + dt.timedelta(seconds=5), now) == end + dt.timedelta(seconds=5)
    # queued before its hour ended (a manual run of the current hour): due when the hour ends
    assert due_at("manual", end, end, end - dt.timedelta(minutes=20), now) == end
    # a manual run of a past hour, or a Process from the dashboard (no data interval): when it was queued
    queued = dt.datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    assert due_at("manual", end, end, queued, now) == queued
    assert due_at("manual", None, queued, queued, now) == queued
    # backfills: none (a migration queues every hour at once)
    assert due_at("backfill", end, end, queued, now) is None


def test_a_clock_deadline_is_the_first_such_local_time_after_the_run_is_due_whatever_the_clocks_do():
    from prestashop_eboekhouden.deadlines import due_at

    ams = "Europe/Amsterdam"
    # the nightly run of 2026-11-20 at 02:00 (01:00 UTC): 06:00 Amsterdam is 05:00 UTC
    at_two = dt.datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert due_at("scheduled", at_two, at_two, at_two, at_two, "06:00", ams) == dt.datetime(2026, 11, 20, 5, tzinfo=UTC)
    # 25 October 2026: the clocks go back at 03:00; 02:00 CEST is 00:00 UTC and 06:00 CET is 05:00 UTC (5 h, not 4)
    dst = dt.datetime(2026, 10, 25, 0, tzinfo=UTC)
    assert due_at("scheduled", dst, dst, dst, dst, "06:00", ams) == dt.datetime(2026, 10, 25, 5, tzinfo=UTC)
    # 29 March 2026: the clocks go forward at 02:00; the run of 03:00 CEST (01:00 UTC): 06:00 CEST is 04:00 UTC
    spring = dt.datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert due_at("scheduled", spring, spring, spring, spring, "06:00", ams) == dt.datetime(2026, 3, 29, 4, tzinfo=UTC)
    # a nightly run triggered at 14:00: the next morning
    afternoon = dt.datetime(2026, 11, 20, 13, tzinfo=UTC)
    assert due_at("manual", afternoon, afternoon, afternoon, afternoon, "06:00", ams) == dt.datetime(2026, 11, 21, 5, tzinfo=UTC)


def test_the_reference_goes_through_airflows_serialization_and_the_plugin_registration():
    from airflow.serialization.decoders import decode_deadline_reference
    from airflow.serialization.encoders import encode_deadline_reference

    from prestashop_eboekhouden.deadlines import BookkeepingDue

    encoded = encode_deadline_reference(BookkeepingDue(clock="06:00", timezone="Europe/Amsterdam"))
    assert encoded == {"reference_type": "BookkeepingDue", "clock": "06:00", "timezone": "Europe/Amsterdam", "__class_path": "prestashop_eboekhouden.deadlines.BookkeepingDue"}
    decoded = decode_deadline_reference(encoded)  # as the scheduler does: found among the plugins' deadline references
    assert decoded.inner_ref == BookkeepingDue(clock="06:00", timezone="Europe/Amsterdam")

    at_two = dt.datetime(2026, 11, 20, 1, tzinfo=UTC)
    row = SimpleNamespace(run_type="scheduled", data_interval_end=at_two, run_after=at_two, queued_at=at_two)
    session = SimpleNamespace(execute=lambda stmt: SimpleNamespace(one_or_none=lambda: row))
    deadline = decoded.evaluate_with(session=session, interval=dt.timedelta(0), dag_id="shop__open_orders_nightly", run_id="scheduled__x")
    assert deadline == dt.datetime(2026, 11, 20, 5, tzinfo=UTC)


def test_the_alerts_of_a_tenant(tmp_path, monkeypatch):
    from prestashop_eboekhouden.deadlines import CALLBACK, BookkeepingDue, alerts_for

    monkeypatch.delenv("PRESTA_EB_DEADLINES", raising=False)
    config = load(tmp_path, BASE + NOTIFY + "deadlines: {payments_by: null}\n")
    (hourly,) = alerts_for(config, "hourly")
    assert (hourly.reference, hourly.interval, hourly.callback.path) == (BookkeepingDue(), dt.timedelta(minutes=45), CALLBACK)
    assert hourly.callback.kwargs == {"tenant": "shop", "limit": "45 minutes after its hour"}
    (nightly,) = alerts_for(config, "nightly")
    assert (nightly.reference, nightly.interval) == (BookkeepingDue(clock="06:00", timezone="Europe/Amsterdam"), dt.timedelta(0))
    assert nightly.callback.kwargs["limit"] == "by 06:00 (Europe/Amsterdam)"
    assert alerts_for(config, "payments") is None
    assert alerts_for(load(tmp_path, BASE), "hourly") is None  # no notify: no alerts
    monkeypatch.setenv("PRESTA_EB_DEADLINES", "off")
    assert alerts_for(config, "hourly") is None


def test_the_deadline_e_mail():
    from prestashop_eboekhouden.deadlines import compose

    dag_run = {
        "dag_id": "acme__orders_hourly", "dag_run_id": "scheduled__2026-11-20T09:00:00+00:00", "state": "running",
        "data_interval_start": "2026-11-20T09:00:00Z", "data_interval_end": "2026-11-20T10:00:00Z", "queued_at": "2026-11-20T10:00:03Z",
        "start_date": "2026-11-20T10:00:04Z",
    }
    subject, body = compose("acme", "Europe/Amsterdam", dag_run, "45 minutes after its hour", "https://airflow.acme.example")
    assert subject == "[acme] acme__orders_hourly (2026-11-20 10:00-11:00) has not finished 45 minutes after its hour"
    assert 'href="https://airflow.acme.example/dags/acme__orders_hourly/runs/scheduled__2026-11-20T09%3A00%3A00%2B00%3A00"' in body
    assert "It is <b>running</b>" in body and "Queued 2026-11-20 11:00, started 2026-11-20 11:00 (Europe/Amsterdam)" in body
    assert 'href="https://airflow.acme.example/bookkeeping/tenants/acme?tab=booked&amp;run_id=scheduled__2026-11-20T09%3A00%3A00%2B00%3A00"' in body
    failed, _ = compose("acme", "Europe/Amsterdam", {**dag_run, "dag_id": "acme__open_orders_nightly", "state": "failed", "data_interval_start": None}, "by 06:00", "")
    assert failed == "[acme] acme__open_orders_nightly failed and has not been re-run by 06:00"


# ---- links -------------------------------------------------------------------------------------------------------


def test_the_run_link_and_the_back_office_link():
    from prestashop_eboekhouden.links import DashboardRunLink, admin_order_url, dashboard_run_path

    assert dashboard_run_path("acme__orders_hourly", "manual__2026-11-20T10:00:00+00:00", root="") == (
        "/bookkeeping/tenants/acme?tab=booked&run_id=manual__2026-11-20T10%3A00%3A00%2B00%3A00"
    )
    assert dashboard_run_path("acme__payments_daily", "scheduled__x", root="/airflow") == "/airflow/bookkeeping/tenants/acme?tab=payments&run_id=scheduled__x"
    key = SimpleNamespace(dag_id="acme__open_orders_nightly", run_id="scheduled__y", task_id="book_orders", map_index=0)
    assert DashboardRunLink().get_link(None, ti_key=key).endswith("/bookkeeping/tenants/acme?tab=booked&run_id=scheduled__y")
    assert DashboardRunLink().name == "Bookkeeping: this run"
    assert dashboard_run_path("acme__reconcile_daily", "scheduled__2026-11-21T06:00:00+00:00", root="/airflow") == (
        "/airflow/bookkeeping/tenants/acme/reconcile?run_id=scheduled__2026-11-21T06%3A00%3A00%2B00%3A00"
    )

    assert admin_order_url("https://shop.example/admin123ab/", 1041) == "https://shop.example/admin123ab/index.php?controller=AdminOrders&id_order=1041&vieworder"
    assert admin_order_url("https://shop.example/admin123ab/index.php/sell/orders/{order_id}/view", 7) == "https://shop.example/admin123ab/index.php/sell/orders/7/view"
    assert admin_order_url(None, 1041) is None and admin_order_url("https://shop.example/a", None) is None


# ---- asset events ----------------------------------------------------------------------------------------------


def test_an_asset_event_only_when_something_was_booked():
    from airflow.sdk.execution_time.context import OutletEventAccessors

    from prestashop_eboekhouden.assets import alias, asset, booked_count, emit_if_booked

    outlets = [alias("acme", "orders")]
    events = OutletEventAccessors()
    context = {"outlet_events": events}
    assert booked_count({"booked": 0, "adopted": 0, "refused": 3}) == 0
    assert emit_if_booked(context, outlets, "acme", "orders", {"note": "3 to Errors"}, 0) is False
    assert events[outlets[0]].asset_alias_events == []
    assert emit_if_booked(context, outlets, "acme", "orders", {"note": "1 booked (1 adopted)"}, booked_count({"booked": 0, "adopted": 1})) is True
    (event,) = events[outlets[0]].asset_alias_events
    assert (event.dest_asset_key.name, event.dest_asset_key.uri, event.extra) == ("acme_orders_booked", "x-bookkeeping://acme/orders", {"note": "1 booked (1 adopted)"})
    assert asset("acme", "credits").uri == "x-bookkeeping://acme/credits"
    assert emit_if_booked(context, outlets, "acme", "credits", {}, 1) is False  # not this task's outlet


# ---- OpenLineage: the operator methods the provider calls --------------------------------------------------------


def test_a_booking_task_reports_the_shops_orders_as_input_and_the_sales_and_relations_as_outputs():
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset, output_statistics_output_dataset

    from prestashop_eboekhouden.operators.tasks import BookOrdersOperator

    task = BookOrdersOperator(task_id="book_orders", tenant="acme", order_ids=[1, 2, 3])
    assert task.get_openlineage_facets_on_complete(None) == OperatorLineage()  # nothing noted: nothing claimed
    shop = SimpleNamespace(base_url="https://shop.example:8443/winkel", conn_id="prestashop_acme")
    eb = SimpleNamespace(base_url="https://api.e-boekhouden.nl", conn_id="eboekhouden_acme")
    counts = {"booked": 2, "adopted": 1, "refused": 0, "skipped": 0, "pending": 0, "relations_created": 1}
    task.note_lineage(shop=shop, eb=eb, inputs={"orders": 3}, outputs={"sales": 3, "relations": 1}, counts=counts)
    lineage = task.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == [
        InputDataset(namespace="prestashop://shop.example:8443", name="winkel/orders",
                     inputFacets={"inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=3)}),
    ]
    assert lineage.outputs == [
        OutputDataset(namespace="eboekhouden://api.e-boekhouden.nl", name="eboekhouden_acme/sales",
                      outputFacets={"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=3)}),
        OutputDataset(namespace="eboekhouden://api.e-boekhouden.nl", name="eboekhouden_acme/relations",
                      outputFacets={"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=1)}),
    ]
    facet = lineage.run_facets["bookkeeping"]
    assert (facet.tenant, facet.task, facet.counts) == ("acme", "book_orders", counts)
    assert task.get_openlineage_facets_on_failure(None).inputs == lineage.inputs


def test_the_providers_extractor_manager_uses_the_operators_methods(monkeypatch):
    """The provider's own machinery (ExtractorManager → DefaultExtractor) picks the methods up, as its listener does."""
    from airflow.providers.openlineage.extractors.manager import ExtractorManager
    from airflow.utils.state import TaskInstanceState

    from prestashop_eboekhouden.operators.tasks import ExtractOrdersOperator

    monkeypatch.setenv("AIRFLOW_CONN_PRESTASHOP_ACME", '{"conn_type": "http", "host": "shop.example", "schema": "https"}')
    task = ExtractOrdersOperator(task_id="extract_orders", tenant="acme")
    task.note_lineage(shop="prestashop_acme", inputs={"orders": 12}, counts={"seen": 12})  # a connection id: looked up only now
    manager = ExtractorManager()
    assert manager.get_extractor_class(task).__name__ == "DefaultExtractor"
    ti = SimpleNamespace(task=task, dag_id="acme__orders_hourly", task_id="extract_orders", map_index=-1, try_number=1)
    dagrun = SimpleNamespace(dag_id="acme__orders_hourly", run_id="manual__x", logical_date=None, conf={})
    lineage = manager.extract_metadata(dagrun, task, TaskInstanceState.SUCCESS, ti)
    assert [(d.namespace, d.name, d.inputFacets["inputStatistics"].rowCount) for d in lineage.inputs] == [("prestashop://shop.example", "orders", 12)]
    assert lineage.outputs == [] and lineage.run_facets["bookkeeping"].counts == {"seen": 12}


def test_a_dump_of_the_tenant_file_reads_back_whatever_its_notify_section(tmp_path):
    """The effective configuration (the dashboard's Configuration tab, `setup validate`) validates again as it is."""
    from prestashop_eboekhouden.config import TenantConfig

    for text in (BASE, BASE + NOTIFY, BASE + NOTIFY + "deadlines: {hourly_minutes: 20}\n"):
        config = load(tmp_path, text)
        assert TenantConfig.model_validate(config.model_dump()) == config
