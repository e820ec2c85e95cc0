"""Preloading the integration's modules in Celery pool processes (prestashop_eboekhouden.preload)."""

from __future__ import annotations

import logging

from prestashop_eboekhouden import preload


def test_each_pool_process_preloads_once_celery_has_started_it(monkeypatch):
    from celery.signals import worker_process_init

    calls = []
    monkeypatch.setattr(preload, "preload", lambda: calls.append("preloaded"))
    receivers_before = list(worker_process_init.receivers or [])
    try:
        preload.on_celery_workers()
        assert calls == []  # nothing at airflow_local_settings time
        worker_process_init.send(sender=None)
        assert calls == ["preloaded"]
    finally:
        worker_process_init.receivers = receivers_before


def test_a_module_that_cannot_be_imported_is_logged_and_the_rest_still_load(monkeypatch, caplog):
    monkeypatch.setattr(preload, "MODULES", ("no_such_module_presta_eb", "json"))
    with caplog.at_level(logging.WARNING, logger=preload.__name__):
        preload.preload()
    assert "Could not preload no_such_module_presta_eb" in caplog.text


def test_the_modules_to_preload_exist():
    import importlib.util

    assert [name for name in preload.MODULES if importlib.util.find_spec(name) is None] == []
