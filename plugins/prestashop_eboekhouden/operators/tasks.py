"""The Airflow operators of the generated DAGs: thin wiring of hook → domain → store.

They read the tenant file at run time, push only ids and counts to XCom, and leave every
business rule to ``domain/`` and every HTTP detail to ``hooks/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import pendulum
import pendulum.parsing.exceptions
from airflow.sdk import BaseOperator, Context
from airflow.sdk.bases.skipmixin import SkipMixin
from airflow.sdk.exceptions import AirflowFailException

from prestashop_eboekhouden.assets import booked_count, emit_if_booked, origin
from prestashop_eboekhouden.config import InvalidTenantFile, TenantConfig, get_tenant
from prestashop_eboekhouden.inputs import InputError, order_ids
from prestashop_eboekhouden.lineage import LineageMixin
from prestashop_eboekhouden.store import ERROR, StateStore, get_store

# The shop's reference data (order states, countries, taxes, currencies, settings) is read once per run: the task that
# first needs a part of it reads that part and leaves everything it knows in XCom (key REFERENCE_XCOM, a few kB) for
# the tasks after it. These tasks may leave it, later ones overriding earlier ones.
REFERENCE_XCOM = "shop_reference"
REFERENCE_TASKS = ("extract_orders", "recheck_open_orders", "validate_orders")


class TenantOperator(LineageMixin, BaseOperator):
    """Base: knows its tenant, its store, and its identity as a claim owner (and answers OpenLineage, lineage.py)."""

    ui_color = "#e8f0fe"

    def __init__(self, *, tenant: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.tenant = tenant

    def tenant_config(self) -> TenantConfig:
        """The tenant file, read at run time (a fix to it applies to the next run).

        A missing or invalid tenant file fails the task at once, without retries: retrying cannot fix it,
        and with max_active_runs=1 the retries would hold the tenant's next hourly runs back."""
        try:
            return get_tenant(self.tenant)
        except (InvalidTenantFile, LookupError) as exc:
            raise CannotRun(f"Tenant {self.tenant}: {exc}. Fix the tenant file, then clear this task.") from None

    @staticmethod
    def state_store() -> StateStore:
        """The integration's state store; one whose schema is behind this code fails the task at once (no retries)."""
        from prestashop_eboekhouden.migrations import StoreSchemaError

        try:
            return get_store()
        except StoreSchemaError as exc:
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(exc)) from None

    @staticmethod
    def owner_id(context: Context) -> str:
        """Who holds a claim: this task instance (a retry of it takes its claims back)."""
        ti = context["ti"]
        return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}"

    def prestashop(self, config: TenantConfig):
        """The tenant's PrestaShop hook, knowing the reference data the run's earlier tasks read."""
        from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook

        hook = PrestaShopHook(config.prestashop_conn_id, page_size=config.prestashop.page_size)
        self._reference_of_the_run(hook)
        return hook

    def _reference_of_the_run(self, hook: Any) -> None:
        """Give the hook the reference data earlier tasks of this run left in XCom (outside a task run: nothing)."""
        try:
            from airflow.sdk import get_current_context

            context = get_current_context()
            upstream = self.get_flat_relative_ids(upstream=True)
        except Exception:  # noqa: BLE001 - not in a running task (or no DAG): the hook reads what it needs
            return
        for task_id in (t for t in REFERENCE_TASKS if t in upstream):
            hook.use_reference_data(context["ti"].xcom_pull(task_ids=task_id, key=REFERENCE_XCOM))

    @staticmethod
    def share_reference(context: Context, hook: Any) -> None:
        """Leave the reference data this task knows for the run's later tasks."""
        data = hook.reference_data()
        if data:
            context["ti"].xcom_push(key=REFERENCE_XCOM, value=data)

    @staticmethod
    def eboekhouden(config: TenantConfig):
        """The tenant's e-Boekhouden backend: REST, or the legacy SOAP API when its connection says so; it knows the
        page size the tenant's last `setup probe` saw (store_probe.py)."""
        from prestashop_eboekhouden.hooks.backends import bookkeeping_api
        from prestashop_eboekhouden.store_probe import use_probe_findings

        hook = bookkeeping_api(config.eboekhouden_conn_id, pool_size=config.eboekhouden.concurrency)
        use_probe_findings(hook, config.tenant)
        return hook


class CannotRun(AirflowFailException, ValueError):
    """The run cannot do its work as asked — a param it cannot use, a tenant file missing or invalid; the message says
    which and why. Fails the task at once, without retries (Airflow's AirflowFailException)."""


def order_ids_param(value: Any) -> list[int]:
    """Param order_ids: a list of order ids (or "1041, 1042"), checked as every input is (``inputs.order_ids``)."""
    try:
        return order_ids(value, "Param order_ids")
    except InputError as exc:
        raise CannotRun(str(exc)) from None


def shop_window(context: Context, config: TenantConfig) -> tuple[dt.datetime, dt.datetime]:
    """The run's window as shop-local naive times: params since/until, else the data interval."""
    params = context.get("params") or {}
    tz = config.tz

    def moment(name: str, value: Any) -> pendulum.DateTime:
        try:
            parsed = pendulum.parse(value, tz=tz) if isinstance(value, str) else pendulum.instance(value)
        except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError):
            raise CannotRun(f"Param {name} must be an ISO time such as 2026-11-20T10:00, not {value!r}") from None
        if not isinstance(parsed, pendulum.DateTime):  # a bare time or a duration
            raise CannotRun(f"Param {name} must be a date with a time such as 2026-11-20T10:00, not {value!r}")
        return parsed

    # A run triggered without a logical date (e.g. `airflow dags trigger`) has no data interval: it
    # takes the last full hour before it, or everything from `since` up to when it was triggered.
    run_after = pendulum.instance(getattr(context.get("dag_run"), "run_after", None) or pendulum.now("UTC"))
    default_end = context.get("data_interval_end") or (run_after if params.get("since") else run_after.in_timezone(tz).start_of("hour"))
    end_at = moment("until", params.get("until") or default_end)
    start_at = moment("since", params.get("since") or context.get("data_interval_start") or end_at.subtract(hours=1))
    start, end = start_at.in_timezone(tz).naive(), end_at.in_timezone(tz).naive()
    if end <= start:
        raise CannotRun(f"The window [{start}, {end}) is empty: until must be after since")
    return start, end


class ExtractOrdersOperator(TenantOperator, SkipMixin):
    """Orders updated in the run's hour (or the orders named in param order_ids) → the store.

    An hour in which no order changed ends the run here: validate, book and report are skipped (skipped tasks
    start no process); a task that reads the hour itself (``reads_its_own_window``, book_credits) runs only when
    the hour has a credit slip or a waiting slip's order is decided.
    """

    inherits_from_skipmixin = True  # serialized so the scheduler keeps the skipped tasks skipped when cleared

    def execute(self, context: Context) -> dict:
        from prestashop_eboekhouden.pipeline.orders import extract_ids, extract_window

        config = self.tenant_config()
        shop = self.prestashop(config)
        store = self.state_store()
        run_id = context["run_id"]
        ids = order_ids_param((context.get("params") or {}).get("order_ids"))
        since = until = None
        if ids:
            self.log.info("Reprocessing %d chosen orders", len(ids))
            result = extract_ids(config, shop, store, ids, run_id)
            unknown = [oid for oid, row in store.get_orders(config.tenant, ids).items() if row["error_code"] == "NOT_FOUND" and row["run_id"] == run_id]
            if unknown:
                self.log.warning("%d of the chosen order ids do not exist in the shop (now in Errors): %s", len(unknown), ", ".join(map(str, sorted(unknown))))
        else:
            since, until = shop_window(context, config)
            self.log.info("Reading orders updated in [%s, %s) shop time", since, until)
            result = extract_window(config, shop, store, since, until, run_id)
        self.log.info(
            "Seen %d orders: %d to validate, %d waiting for a status, %d already booked; PrestaShop requests: %s",
            result.seen, len(result.to_process), result.waiting, result.already_booked, dict(shop.requests_made),
        )
        context["ti"].xcom_push(key="order_ids", value=result.to_process)
        self.share_reference(context, shop)
        counts = {k: v for k, v in result.as_xcom().items() if k != "order_ids"}
        self.note_lineage(shop=shop, inputs={"orders": result.seen}, counts=counts)
        if not (result.to_process or result.seen or result.unreadable):
            # Nothing to validate, book or report. skip() raises, so the counts are pushed here first.
            context["ti"].xcom_push(key="return_value", value=counts)
            # Tasks that read the hour themselves (book_credits: the hour's credit slips) run only when there is
            # something for them: an idle hour is one task start.
            keep = self._credit_work(config, shop, store, ids, since, until)
            self.log.info("No order changed in this window: the rest of the run is skipped%s", " but book_credits (credit slips to book)" if keep else "")
            self.skip(ti=context["ti"], tasks=[t for t in self.get_flat_relatives(upstream=False) if not (keep and getattr(t, "reads_its_own_window", False))])
        return counts

    def _credit_work(self, config: TenantConfig, shop: Any, store: StateStore, ids: list[int], since: dt.datetime | None, until: dt.datetime | None) -> bool:
        """Whether book_credits has anything to do: a slip updated in the hour, or a waiting slip whose order is
        decided (of the chosen orders, when order_ids names them)."""
        from prestashop_eboekhouden.pipeline.credits import waiting_slips

        if not config.prestashop.credit_slips:
            return False
        if ids:
            return bool(waiting_slips(config, store, decided_only=False, order_ids=ids))
        if waiting_slips(config, store, decided_only=True):
            return True
        try:
            return any(page for page in shop.slips_updated(since, until))
        except Exception as exc:  # noqa: BLE001 - book_credits runs and reports it in its own words
            self.log.warning("Could not look for the hour's credit slips (%s): book_credits runs and reads them itself", exc)
            return True


class RecheckOpenOrdersOperator(TenantOperator):
    """Nightly: reread open orders within recheck.months_back; older ones leave Open with a reason."""

    def execute(self, context: Context) -> dict:
        from prestashop_eboekhouden.pipeline.orders import extract_ids
        from prestashop_eboekhouden.pipeline.recheck import recheck_candidates

        config = self.tenant_config()
        store = self.state_store()
        run_id = context["run_id"]
        today = pendulum.now(config.tz).date()
        candidates, expired = recheck_candidates(config, store, today, run_id)
        self.log.info("%d open orders to recheck; %d older than %d months moved to Errors", len(candidates), expired, config.recheck.months_back)
        shop = self.prestashop(config)
        result = extract_ids(config, shop, store, candidates, run_id) if candidates else None
        to_process = result.to_process if result else []
        context["ti"].xcom_push(key="order_ids", value=to_process)
        self.share_reference(context, shop)
        counts = {k: v for k, v in result.as_xcom().items() if k != "order_ids"} if result else {}
        self.note_lineage(shop=shop, inputs={"orders": len(candidates)}, counts={**counts, "expired": expired})
        self.log.info("Now in a status to book: %d; PrestaShop requests: %s", len(to_process), dict(shop.requests_made))
        return {**counts, "expired": expired, "rechecked": len(candidates)}


class ValidateOrdersOperator(TenantOperator):
    """Full order data (batched) → normalize, precheck, plan; returns batches of ready order ids."""

    template_fields: Sequence[str] = ("order_ids",)

    def __init__(self, *, order_ids: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.order_ids = order_ids

    def execute(self, context: Context) -> list[list[int]]:
        from prestashop_eboekhouden.pipeline.orders import validate
        from prestashop_eboekhouden.pipeline.report import refused_table

        config = self.tenant_config()
        shop = self.prestashop(config)
        store = self.state_store()
        ids = [int(i) for i in self.order_ids or []]
        result = validate(config, shop, store, ids, context["run_id"])
        self.share_reference(context, shop)
        self.note_lineage(shop=shop, inputs={"orders": len(ids)}, counts={"ready": result.ready, "refused": result.refused, "waiting": result.waiting})
        self.log.info(
            "%d orders ready to book in %d batches, %d refused by prechecks (see the Errors tab), %d ICP orders wait in Open for VIES; "
            "PrestaShop requests: %s",
            result.ready, len(result.batches), result.refused, result.waiting, dict(shop.requests_made),
        )
        if result.refused:
            rows = store.get_orders(config.tenant, ids)
            refused = [r for r in rows.values() if r["state"] == ERROR and r["run_id"] == context["run_id"]]
            self.log.info("Refused orders (in Errors):\n%s", refused_table(refused))
        return result.batches


class _BookBatchOperator(TenantOperator):
    """Books one batch (mapped: one task instance per batch); fails when some could not be booked yet."""

    template_fields: Sequence[str] = ("order_ids",)
    ui_color = "#fde8e8"
    what = "orders"
    lineage_input, lineage_output = "orders", "sales"  # the shop's resource read, the administration's records written

    def __init__(self, *, order_ids: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.order_ids = order_ids

    def booker(self, config: TenantConfig, eb: Any, context: Context) -> Any:
        """The booker of this kind (sales or payments)."""
        raise NotImplementedError

    def log_outcomes(self, config: TenantConfig, ids: list[int], outcome: Any, context: Context) -> None:
        """A table of what happened to each item of the batch (orders; payments log their counts)."""

    def execute(self, context: Context) -> dict:
        from prestashop_eboekhouden.pipeline.booking import BookingIncomplete
        from prestashop_eboekhouden.pipeline.report import batch_label

        ids = [int(i) for i in self.order_ids or []]
        label = batch_label(self.what, ids)
        cast(dict, context)["batch_label"] = label  # map_index_template reads it from the context
        config = self.tenant_config()
        eb = self.eboekhouden(config)
        try:
            outcome = self.booker(config, eb, context).book(ids)
        finally:
            eb.close_session()
        counts = outcome.as_xcom()
        self.note_lineage(
            shop=config.prestashop_conn_id, eb=eb, inputs={self.lineage_input: len(ids)},
            outputs={self.lineage_output: booked_count(counts), **({"relations": counts.get("relations_created", 0)} if self.lineage_output == "sales" else {})}, counts=counts,
        )
        self.log.info(
            "Booking batch of %s (%s): %s; e-Boekhouden requests: %s",
            self.what, label, ", ".join(f"{k} {v}" for k, v in counts.items()), dict(eb.requests_made),
        )
        self.log_outcomes(config, ids, outcome, context)
        if outcome.pending:
            raise BookingIncomplete(
                f"{len(outcome.pending)} {self.what} could not be booked yet (e-Boekhouden unreachable or its answer lost); "
                f"a retry books only what is not booked: {outcome.pending[:20]}"
            )
        return counts


class BookOrdersOperator(_BookBatchOperator):
    """Books one batch of ready orders into e-Boekhouden: debtor, then the sale."""

    def log_outcomes(self, config: TenantConfig, ids: list[int], outcome: Any, context: Context) -> None:
        from prestashop_eboekhouden.pipeline.report import outcome_table

        rows = self.state_store().get_orders(config.tenant, ids)
        self.log.info("Orders of this batch:\n%s", outcome_table(ids, rows, context["run_id"], set(outcome.pending)))

    def booker(self, config: TenantConfig, eb: Any, context: Context) -> Any:
        from prestashop_eboekhouden.pipeline.booking import SaleBooker

        return SaleBooker(config, eb, self.state_store(), self.owner_id(context), context["run_id"])


class ReportOperator(TenantOperator):
    """Summarises the run (counts, amounts) in the log, the store and an asset event; fails if a batch failed."""

    def __init__(self, *, kind: str, batches_task: str, work_task: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.kind, self.batches_task, self.work_task = kind, batches_task, work_task

    def execute(self, context: Context) -> dict:
        from prestashop_eboekhouden.pipeline.report import run_note, summarize

        ti = context["ti"]
        batches = ti.xcom_pull(task_ids=self.batches_task)
        results = ti.xcom_pull(task_ids=self.work_task) or []
        if not isinstance(results, list):
            results = [results]
        store = self.state_store()
        summary, table = summarize(store, self.tenant, context["run_id"], self.kind, [r for r in results if r])
        errors = store.run_errors(self.tenant, context["run_id"], self.kind)
        summary["note"] = run_note(summary, errors)
        summary["errors"] = [{k: e.get(k) for k in ("order_id", "payment_id", "reference", "error_code")} for e in errors[:20]]
        self.log.info("Run summary for %s (%s): %s\n%s", self.tenant, self.kind, summary["note"], table)
        cast(dict, context)["run_note"] = summary["note"]  # the run's note (set by the plugin's listener) and the notification
        store.record_run(self.tenant, ti.dag_id, context["run_id"], summary)
        # the asset event, only when the run booked something (assets.py): an hour that booked nothing wakes no one
        emit_if_booked(context, self.outlets, self.tenant, self.kind, {**summary, **origin(context)}, booked_count(summary["counters"]))
        if batches is None:
            raise RuntimeError("Extract or validate did not finish; nothing was booked in this run (see their logs)")
        done = len([r for r in results if r])
        if done < len(batches):
            raise RuntimeError(f"{len(batches) - done} of {len(batches)} booking batches failed; clear them to retry (already booked orders are skipped)")
        return summary


class ExtractPaymentsOperator(TenantOperator):
    """Payments of booked, unpaid orders → the store; returns batches of order ids with payments to book."""

    def execute(self, context: Context) -> list[list[int]]:
        from prestashop_eboekhouden.pipeline.payments import extract_payments

        config = self.tenant_config()
        shop = self.prestashop(config)
        result = extract_payments(config, shop, self.state_store(), pendulum.now(config.tz).date(), context["run_id"])
        self.note_lineage(shop=shop, inputs={"order_payments": result.payments_seen}, counts={"orders_checked": result.orders_checked, "not_paid": result.not_paid})
        self.log.info(
            "Checked %d booked orders awaiting payment: %d not paid in the shop yet, %d payments registered, %d batches; PrestaShop requests: %s",
            result.orders_checked, result.not_paid, result.payments_seen, len(result.batches), dict(shop.requests_made),
        )
        return result.batches


class BookPaymentsOperator(_BookBatchOperator):
    """Books the payments of one batch of orders against their outstanding items."""

    what = "payments"
    lineage_input, lineage_output = "order_payments", "payments"

    def booker(self, config: TenantConfig, eb: Any, context: Context) -> Any:
        from prestashop_eboekhouden.pipeline.payments import PaymentBooker

        return PaymentBooker(config, eb, self.state_store(), self.owner_id(context), context["run_id"])
