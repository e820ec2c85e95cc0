"""Airflow DAGs for every webshop (tenant) in include/tenants/*.yaml.

Per tenant (see plugins/prestashop_eboekhouden/dag_factory.py):
  <tenant>__orders_hourly        extract → validate → book → report, one-hour data intervals
  <tenant>__open_orders_nightly  recheck open orders at 02:00 → validate → book → report
  <tenant>__payments_daily       payments of booked orders at 06:00 (when payments are enabled)
  <tenant>__reconcile_daily      yesterday's reconciliation at 07:00, read only (unless reconcile.enabled is false)

Nothing but the tenant files is read here; all logic lives in the plugin package.
"""

from prestashop_eboekhouden.dag_factory import build_tenant_dags

globals().update(build_tenant_dags())
