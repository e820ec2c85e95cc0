"""Links between Airflow, the bookkeeping dashboard and the shop's back office.

- :class:`DashboardRunLink`: an operator extra link ("Bookkeeping: this run") on every task of the tenant DAGs, to
  the dashboard filtered on that run (the reconciliation's: its Reconcile tab on the run's period). The plugin
  registers it (``operator_extra_links``), so the API server makes the link from the task instance's key when the UI
  asks: no task pushes anything for it, and a task that was skipped or has not run yet has it too.
- :func:`admin_order_url`: an order in the shop's back office, from the tenant's ``prestashop.admin_url``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from airflow.sdk import BaseOperatorLink

DASHBOARD = "/bookkeeping"
PAYMENTS_SUFFIX = "__payments_daily"
RECONCILE_SUFFIX = "__reconcile_daily"
# PrestaShop's legacy back-office link to an order. 1.5-1.7.6 serve it; 1.7.7+ and 8.x redirect it to the Symfony
# page /sell/orders/{id}/view (route admin_orders_view, whose _legacy_link is AdminOrders:vieworder with
# id_order → orderId), so one shape works on every version. Without the back office's token PrestaShop first asks
# to confirm ("Invalid token"), which is what a link from outside gets.
LEGACY_ORDER_PATH = "index.php?controller=AdminOrders&id_order={order_id}&vieworder"


def _root() -> str:
    """The path the Airflow UI is served under (from ``[api] base_url``; "" at the host's root)."""
    try:
        from airflow.configuration import conf

        base = conf.get("api", "base_url", fallback="") or ""
    except Exception:  # noqa: BLE001 - a link is not worth failing a page
        base = ""
    return urlsplit(base).path.rstrip("/")


def dashboard_run_path(dag_id: str, run_id: str, root: str | None = None) -> str:
    """The dashboard of the DAG's tenant, filtered on one run (Payments for the payments DAG, else Report); for the
    reconciliation DAG its Reconcile tab on the period the run covers."""
    tenant = dag_id.split("__", 1)[0]
    base = _root() if root is None else root
    if dag_id.endswith(RECONCILE_SUFFIX):
        return f"{base}{DASHBOARD}/tenants/{quote(tenant)}/reconcile?run_id={quote(run_id, safe='')}"
    tab = "payments" if dag_id.endswith(PAYMENTS_SUFFIX) else "booked"
    return f"{base}{DASHBOARD}/tenants/{quote(tenant)}?tab={tab}&run_id={quote(run_id, safe='')}"


class DashboardRunLink(BaseOperatorLink):
    """Operator extra link: this task's run in the bookkeeping dashboard."""

    name = "Bookkeeping: this run"
    operators: ClassVar[list[type]] = []  # filled by the plugin with the operators of the tenant DAGs

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return dashboard_run_path(ti_key.dag_id, ti_key.run_id)


def linked_operators() -> list[type]:
    """The operators of the tenant DAGs (each gets the link)."""
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

    return [
        ExtractOrdersOperator, RecheckOpenOrdersOperator, ValidateOrdersOperator, BookOrdersOperator, BookCreditsOperator, ReportOperator,
        ExtractPaymentsOperator, BookPaymentsOperator, ReconcileOperator,
    ]


def admin_order_url(admin_url: str | None, order_id: int | None) -> str | None:
    """The order's page in the back office: ``admin_url`` is the back office's folder URL
    (``https://shop.example/admin123ab``) or a whole URL with ``{order_id}`` in it; None without either."""
    if not admin_url or not order_id:
        return None
    if "{order_id}" in admin_url:
        return admin_url.replace("{order_id}", str(int(order_id)))
    return f"{admin_url.rstrip('/')}/{LEGACY_ORDER_PATH.format(order_id=int(order_id))}"
