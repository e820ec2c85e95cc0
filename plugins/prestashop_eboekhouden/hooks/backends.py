"""The e-Boekhouden backends: the only place that knows the REST API from the legacy SOAP API.

A connection of type ``eboekhouden`` names its backend in its extra (``{"api": "soap"}``; default the REST API).
:func:`bookkeeping_api` gives the booking code the backend's hook (a :class:`~hooks.protocol.BookkeepingApi`), and
:class:`EBoekhoudenConnectionHook` is what Airflow makes for the connection type (its Test button), handing the
check to the backend's hook. Adding a backend: its hook (a ``BookkeepingApi``), one line in :data:`BACKENDS`, and
its connection fields in ``provider_info.py`` (docs/adding-a-backend.md walks through it).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from airflow.providers.http.hooks.http import HttpHook

from prestashop_eboekhouden.hooks.protocol import BookkeepingApi

REST, SOAP = "rest", "soap"
# backend name (the connection extra "api") → "module:Hook"; the first is the default
BACKENDS: dict[str, str] = {
    REST: "prestashop_eboekhouden.hooks.eboekhouden:EBoekhoudenHook",
    SOAP: "prestashop_eboekhouden.hooks.eboekhouden_soap:EBoekhoudenSoapHook",
}


def backend_of(conn_id: str) -> str:
    """The backend a connection names in its extra ``api`` (default: the REST API); ValueError for an unknown one."""
    extra = HttpHook.get_connection(conn_id).extra_dejson or {}
    name = str(extra.get("api") or REST).strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"Connection {conn_id}: extra 'api' is {name!r}; it must be one of {', '.join(BACKENDS)}")
    return name


def hook_class(name: str) -> type:
    """The hook class of a backend."""
    module, _, cls = BACKENDS[name].partition(":")
    return getattr(import_module(module), cls)


def bookkeeping_api(conn_id: str, **kwargs: Any) -> BookkeepingApi:
    """The e-Boekhouden hook for a connection, with the hook's own options."""
    return hook_class(backend_of(conn_id))(conn_id, **kwargs)


class EBoekhoudenConnectionHook(HttpHook):
    """The hook Airflow makes for an ``eboekhouden`` connection (its form and Test button): the backend's check."""

    conn_name_attr = "eboekhouden_conn_id"
    default_conn_name = "eboekhouden_default"
    conn_type = "eboekhouden"
    hook_name = "e-Boekhouden"

    def __init__(self, eboekhouden_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(method="GET", http_conn_id=eboekhouden_conn_id)
        self.eboekhouden_conn_id = eboekhouden_conn_id

    def test_connection(self) -> tuple[bool, str]:
        """The backend's own check (the REST API: a session and a ledger; the SOAP API: a session and the ledgers)."""
        try:
            api = bookkeeping_api(self.eboekhouden_conn_id)
        except ValueError as exc:
            return False, str(exc)
        return api.test_connection()
