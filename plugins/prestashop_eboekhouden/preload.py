"""Import the integration's modules once per Celery pool process, so that every task process forked from it
starts with them: a task start then costs the task, not ~0.3 CPU-s of imports (measured by
bench/tenants_scale.py). For a deployment's ``airflow_local_settings.py`` (``$AIRFLOW_HOME/config/``)::

    from prestashop_eboekhouden.preload import on_celery_workers
    on_celery_workers()

Nothing is imported at that point (airflow_local_settings is read while Airflow itself starts): the imports
run in each pool process when Celery has started it (signal ``worker_process_init``), with Airflow up.
"""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

MODULES = (
    "prestashop_eboekhouden.dag_factory",
    "prestashop_eboekhouden.hooks.prestashop",
    "prestashop_eboekhouden.hooks.backends",
    "prestashop_eboekhouden.pipeline.orders",
    "prestashop_eboekhouden.pipeline.booking",
    "prestashop_eboekhouden.pipeline.report",
    "prestashop_eboekhouden.store",
    "pandas",  # the report's table
)


def preload() -> None:
    """Import MODULES (a failure is logged, never raised: the task imports what it needs itself)."""
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a worker must start even if a module cannot be preloaded
            log.warning("Could not preload %s", name, exc_info=True)


def on_celery_workers() -> None:
    """Preload in each Celery pool process once it is started (no-op where Celery is not installed)."""
    try:
        from celery.signals import worker_process_init
    except ImportError:
        return
    worker_process_init.connect(_on_worker_process_init, weak=False)


def _on_worker_process_init(**_: object) -> None:
    preload()
