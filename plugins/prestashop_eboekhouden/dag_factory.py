"""Builds the DAGs of every tenant from its tenant file (no I/O but reading those files).

- ``<tenant>__orders_hourly``: extract → validate → book (mapped per batch) → report, over real
  one-hour data intervals in the tenant's time zone, so a backfill re-reads exactly those hours;
- ``<tenant>__open_orders_nightly`` at 02:00: recheck open orders → validate → book → report;
- ``<tenant>__payments_daily`` at 06:00 (only with payments.enabled): payments → book → report;
- ``<tenant>__reconcile_daily`` at 07:00 (unless reconcile.enabled is false): yesterday's reconciliation, read only
  (params since/until: any period; the dashboard's Reconcile tab triggers it).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, CronTriggerTimetable, Param, get_parsing_context
from airflow.sdk.definitions.param import ParamsDict

from prestashop_eboekhouden import assets
from prestashop_eboekhouden.config import LoadedTenants, TenantConfig, load_tenant_file, load_tenants, tenants_dir
from prestashop_eboekhouden.deadlines import alerts_for
from prestashop_eboekhouden.inputs import DATETIME_PATTERN, MAX_ORDER_IDS, order_ids_schema
from prestashop_eboekhouden.masking import register_sensitive_names
from prestashop_eboekhouden.operators.credits import BookCreditsOperator
from prestashop_eboekhouden.operators.reconcile import ReconcileOperator
from prestashop_eboekhouden.operators.tasks import (
    BookOrdersOperator,
    BookPaymentsOperator,
    ExtractOrdersOperator,
    ExtractPaymentsOperator,
    RecheckOpenOrdersOperator,
    ReportOperator,
    ValidateOrdersOperator,
)

log = logging.getLogger(__name__)
register_sensitive_names()  # task processes and the dag-processor parse this: the SOAP codes never show in clear

HOURLY, NIGHTLY, PAYMENTS, RECONCILE = "orders_hourly", "open_orders_nightly", "payments_daily", "reconcile_daily"
# Every task: retried with exponential back-off and bounded in time. Given to each operator rather than
# as the DAG's default_args, which Airflow deep-copies several times per task (a quarter of the parse
# time with 1000 tenants).
TASK_ARGS = {
    "owner": "bookkeeping",
    "retries": 3,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
    "execution_timeout": dt.timedelta(hours=2),
}

# A mapped booking task's name in the UI ("orders 1041–1088 (37)"): the task puts it in its context.
BATCH_LABEL = "{{ batch_label }}"

HOURLY_DOC = """\
### Orders → e-Boekhouden, hourly ({tenant})
Reads the orders **updated** in this run's hour (data interval, {timezone}) from PrestaShop,
prechecks them, creates the debtor when needed and books each order **once** as a
{book_as}. Orders not yet in a status to book ({statuses}) stay **Open**; refused ones go to
**Errors** with the reason; booked ones are never booked or changed again.

* Reprocess chosen orders: trigger with param `order_ids` (e.g. after fixing a VAT mapping).
* Widen the window: params `since` / `until` (ISO times, {timezone}).
* Migrate history: `airflow backfill create --dag-id {dag_id} --from-date … --to-date …`.
* A failed `book_orders` batch can be cleared alone: it books only what is not booked yet.
"""

NIGHTLY_DOC = """\
### Open orders recheck, nightly ({tenant})
Rereads every **Open** order of the last {months} months and books those that reached a status
to book, through the same validate and book tasks as the hourly DAG. Open orders older than that
move to **Errors**: "older than {months} months: book by hand or migrate".
"""

PAYMENTS_DOC = """\
### Payments → e-Boekhouden, daily ({tenant})
For booked orders without a booked payment: reads their payments from PrestaShop and books each
against the sale's **outstanding item** in e-Boekhouden (amounts must match to the cent).
Refused payments are kept with the reason; a payment is never booked twice.
"""

RECONCILE_DOC = """\
### Reconciliation, daily ({tenant}) — read only
Compares yesterday (or params `since` / `until`, days) three ways: the shop's orders and credit slips, what the
integration booked, and e-Boekhouden's bookings. It never books or changes anything; the differences (each once, with
the next step), the totals per VAT code and the VAT summary are in the dashboard's **Reconcile** tab.
"""


# since / until are text fields in the shop's time zone, not Airflow's date picker: the picker is labelled with the
# user's UI time zone (UTC unless they changed it) and sends UTC, while a bookkeeper means the shop's hours. The
# pattern is what the run reads (inputs.moment): a date and a time, an offset optional.
ORDER_IDS_SCHEMA = {**order_ids_schema(), "type": ["array", "null"]}  # empty means the run's hour: not a required field
WINDOW_SCHEMA = {"type": ["null", "string"], "pattern": DATETIME_PATTERN, "maxLength": 40}
# Airflow's trigger form shows a refused value only as "Bad Request" (its API client turns a 400 into its status text);
# the REST API's own answer names the problem, and so does the dashboard's Run now (Configuration tab).
REFUSED = "A value outside these rules is refused before a run exists; Airflow's form then says only \"Bad Request\" — the bookkeeping dashboard's Run now (Configuration tab) names the problem."
DAY_SCHEMA = {"type": ["null", "string"], "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def hourly_params(config: TenantConfig) -> ParamsDict:
    """Trigger params of the hourly DAG, with their JSON schema (checked by the trigger form and the REST API); each
    field's description states its rules, since Airflow's form cannot show why it refused a value."""
    zone = config.timezone
    return ParamsDict(
        {
            "order_ids": Param(
                [], schema=ORDER_IDS_SCHEMA,
                description=f"Optional. Order ids to (re)process instead of the hour's orders, as a JSON list such as [1041, 1042]: "
                f"whole numbers without quotes, each 1 or more, at most {MAX_ORDER_IDS} ids. Empty ([]): the orders of the run's hour. {REFUSED}",
            ),
            "since": Param(
                None, schema={**WINDOW_SCHEMA, "title": f"Since ({zone})"},
                description=f"Optional. Start of the window instead of the run's hour, typed in the shop's time zone {zone}: a date and a time "
                f"such as 2026-11-20 10:00 (an offset such as +01:00 or Z overrides the zone). {REFUSED}",
            ),
            "until": Param(
                None, schema={**WINDOW_SCHEMA, "title": f"Until ({zone})"},
                description=f"Optional. End of the window (excluded), after since, in {zone}: e.g. 2026-11-20 18:00. Empty: the end of the "
                "run's hour (with since: the moment of the trigger). until before since fails the run at once (no retries), its note saying why.",
            ),
        }
    )


def reconcile_params() -> ParamsDict:
    """Trigger params of the reconciliation: the period (empty: yesterday)."""
    return ParamsDict(
        {
            "since": Param(None, schema={**DAY_SCHEMA, "title": "From"}, description="First day to reconcile, such as 2026-10-01. Empty: yesterday."),
            "until": Param(None, schema={**DAY_SCHEMA, "title": "To"}, description="Last day to reconcile (included), such as 2026-12-31. Empty: the same day as since."),
        }
    )


def _start(config: TenantConfig) -> pendulum.DateTime:
    return pendulum.datetime(config.start_date.year, config.start_date.month, config.start_date.day, tz=config.tz)


def _dag(config: TenantConfig, name: str, schedule, doc: str, **kwargs) -> DAG:
    return DAG(
        dag_id=f"{config.tenant}__{name}",
        schedule=schedule,
        start_date=_start(config),
        catchup=False,
        tags=[config.tenant, "bookkeeping"],
        doc_md=doc,
        **kwargs,
    )


def hourly_dag(config: TenantConfig) -> DAG:
    """Hourly booking of new and changed orders."""
    dag_id = f"{config.tenant}__{HOURLY}"
    doc = HOURLY_DOC.format(
        tenant=config.tenant, timezone=config.timezone, book_as=config.eboekhouden.book_as,
        statuses=", ".join(map(str, config.prestashop.process_statuses)), dag_id=dag_id,
    )
    # The params carry a JSON schema (the trigger form and the REST API refuse a bad value before a run
    # exists); the tasks check them again and fail without retries. They join the DAG after it is made:
    # a DAG made with params runs jsonschema over each default at every parse (0.6 s with 1000 tenants); and
    # after its tasks, which would each deep-copy the schemas (the tasks get them at run time from the DAG).
    with _dag(config, HOURLY, CronDataIntervalTimetable("0 * * * *", timezone=config.tz), doc, max_active_runs=1, deadline=alerts_for(config, "hourly")) as dag:
        _order_pipeline(config, ExtractOrdersOperator(task_id="extract_orders", tenant=config.tenant, **TASK_ARGS), credits="window")
    dag.params.update(hourly_params(config))
    return dag


def nightly_dag(config: TenantConfig) -> DAG:
    """Nightly recheck of open orders."""
    doc = NIGHTLY_DOC.format(tenant=config.tenant, months=config.recheck.months_back)
    with _dag(config, NIGHTLY, CronTriggerTimetable("0 2 * * *", timezone=config.tz), doc, max_active_runs=1, deadline=alerts_for(config, "nightly")) as dag:
        _order_pipeline(config, RecheckOpenOrdersOperator(task_id="recheck_open_orders", tenant=config.tenant, **TASK_ARGS), credits="recheck", digest_run=True)
    return dag


def _order_pipeline(config: TenantConfig, extract, credits: str, digest_run: bool = False) -> None:
    """extract → validate → book (one mapped task per batch) → report; and after the booking, the credit slips."""
    validate = ValidateOrdersOperator(task_id="validate_orders", tenant=config.tenant, order_ids=extract.output["order_ids"], **TASK_ARGS)
    book = BookOrdersOperator.partial(
        task_id="book_orders", tenant=config.tenant, pool=config.pool, map_index_template=BATCH_LABEL, **TASK_ARGS
    ).expand(order_ids=validate.output)
    report = ReportOperator(
        task_id="report", tenant=config.tenant, kind="orders", batches_task="validate_orders", work_task="book_orders", **TASK_ARGS,
        trigger_rule="all_done", **assets.ports(config.tenant, assets.ORDERS),  # x-bookkeeping://<tenant>/orders when it booked (assets.py)
        **_notifications(config, "orders", digest_run),
    )
    validate >> book >> report
    if config.prestashop.credit_slips:  # a leaf of its own: when it fails, the run fails
        book >> BookCreditsOperator(
            task_id="book_credits", tenant=config.tenant, mode=credits, pool=config.pool, trigger_rule="all_done", **assets.ports(config.tenant, assets.CREDITS), **TASK_ARGS
        )


def _notifications(config: TenantConfig, kind: str, digest_run: bool) -> dict:
    """The report task's notifier callbacks (e-mail on new Errors / failure), when the tenant file asks for them."""
    if config.notify is None:
        return {}
    if kind == "reconcile":
        from prestashop_eboekhouden.notify_reconcile import reconcile_callbacks

        return reconcile_callbacks(config)
    from prestashop_eboekhouden.notify import report_callbacks  # the SMTP provider only for tenants that notify

    return report_callbacks(config, kind, digest_run)


def payments_dag(config: TenantConfig) -> DAG:
    """Daily booking of payments."""
    with _dag(
        config, PAYMENTS, CronTriggerTimetable("0 6 * * *", timezone=config.tz), PAYMENTS_DOC.format(tenant=config.tenant), max_active_runs=1,
        deadline=alerts_for(config, "payments"),
    ) as dag:
        extract = ExtractPaymentsOperator(task_id="extract_payments", tenant=config.tenant, **TASK_ARGS)
        book = BookPaymentsOperator.partial(
            task_id="book_payments", tenant=config.tenant, pool=config.pool, map_index_template=BATCH_LABEL, **TASK_ARGS
        ).expand(order_ids=extract.output)
        report = ReportOperator(
            task_id="report", tenant=config.tenant, kind="payments", batches_task="extract_payments", work_task="book_payments", **TASK_ARGS,
            trigger_rule="all_done", **assets.ports(config.tenant, assets.PAYMENTS),
        )
        book >> report
    return dag


def reconcile_dag(config: TenantConfig) -> DAG:
    """Daily reconciliation of yesterday (read only); any period through its params."""
    with _dag(config, RECONCILE, CronTriggerTimetable("0 7 * * *", timezone=config.tz), RECONCILE_DOC.format(tenant=config.tenant), max_active_runs=1) as dag:
        ReconcileOperator(
            task_id="reconcile", tenant=config.tenant, pool=config.pool, **assets.ports(config.tenant, assets.DIFFERENCES),  # when new differences
            **TASK_ARGS, **_notifications(config, "reconcile", False),
        )
    dag.params.update(reconcile_params())
    return dag


def dags_for(config: TenantConfig) -> list[DAG]:
    """The tenant's DAGs (the payments DAG only where payments are enabled, the reconciliation unless disabled)."""
    dags = [hourly_dag(config), nightly_dag(config)]
    if config.payments.enabled:
        dags.append(payments_dag(config))
    if config.reconcile.enabled:
        dags.append(reconcile_dag(config))
    return dags


def _tenants_for_this_parse(folder: Path) -> LoadedTenants:
    """All tenants; when Airflow parses for one task, only that DAG's tenant file."""
    wanted = get_parsing_context().dag_id
    if wanted and "__" in wanted:
        path = folder / f"{wanted.split('__', 1)[0]}.yaml"
        if path.is_file():
            try:
                return LoadedTenants((load_tenant_file(path),), ())
            except ValueError:
                pass  # fall through: the full load reports it
    return load_tenants(folder)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while thousands of long-lived DAG objects are made.

    Every object made counts towards a collection, and each full collection walks all DAGs made so
    far: with 1000 tenants that is a fifth of the parse time, spent finding no garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_tenant_dags(folder: Path | None = None) -> dict[str, DAG]:
    """dag_id → DAG for every valid tenant file; invalid files are logged and skipped here
    (dags/tenant_config_check.py turns them into import errors without touching valid tenants)."""
    wanted = get_parsing_context().dag_id
    dags: dict[str, DAG] = {}
    with _gc_paused():
        loaded = _tenants_for_this_parse(folder or tenants_dir())
        for config in loaded.tenants:
            for dag in dags_for(config):
                dags[dag.dag_id] = dag
    for error in loaded.errors:
        log.warning("%s", error)
    if wanted and wanted in dags:
        return {wanted: dags[wanted]}
    return dags
