"""Which e-Boekhouden backend a connection names: the REST API (API token) or the legacy SOAP API."""

from __future__ import annotations

from typing import Any

from prestashop_eboekhouden.hooks.protocol import BookkeepingApi

SOAP = "soap"


def backend_of(conn_id: str) -> str:
    """'soap' when the connection's extra says {"api": "soap"}, else 'rest'."""
    from airflow.providers.http.hooks.http import HttpHook

    extra = HttpHook.get_connection(conn_id).extra_dejson or {}
    return SOAP if str(extra.get("api") or "").strip().lower() == SOAP else "rest"


def bookkeeping_api(conn_id: str, **kwargs: Any) -> BookkeepingApi:
    """The e-Boekhouden hook for a connection (REST or legacy SOAP), with the hook's own options."""
    if backend_of(conn_id) == SOAP:
        from prestashop_eboekhouden.hooks.eboekhouden_soap import EBoekhoudenSoapHook

        return EBoekhoudenSoapHook(conn_id, **kwargs)
    from prestashop_eboekhouden.hooks.eboekhouden import EBoekhoudenHook

    return EBoekhoudenHook(conn_id, **kwargs)
