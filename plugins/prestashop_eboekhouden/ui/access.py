"""Who may see and act on the dashboard: the Airflow login of a request and its rights on a tenant's hourly DAG.

Shared by the dashboard's routes (ui/app.py) and the Reconcile tab's (ui/reconcile.py); looked up at call time
(``access.current_user(...)``), so tests may stand in for the login.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import HTTPException, Request

from prestashop_eboekhouden.config import TenantConfig, load_tenants
from prestashop_eboekhouden.ui.runs import HOURLY


class NotLoggedIn(Exception):
    """No valid Airflow login on the request."""


async def current_user(request: Request) -> Any:
    """The Airflow user of the request (JWT cookie of the UI, or a Bearer token)."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    try:
        return await get_user(request, None, await bearer_scheme(request))
    except HTTPException as exc:
        raise NotLoggedIn(exc.detail) from None


def may(user: Any, tenant: str, method: Literal["GET", "POST"]) -> bool:
    """Whether the user may read (GET) or trigger (POST) the tenant's hourly DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    entity = DagAccessEntity.RUN if method == "POST" else None
    return get_auth_manager().is_authorized_dag(method=method, access_entity=entity, details=DagDetails(id=HOURLY.format(tenant=tenant)), user=user)


def tenant_config(tenant: str, user: Any, method: Literal["GET", "POST"] = "GET") -> TenantConfig:
    """The tenant's configuration, if the user may read it (GET) or act on it (POST); else 404 / 403."""
    configs = {t.tenant: t for t in load_tenants().tenants}
    if tenant not in configs:
        raise HTTPException(404, f"There is no webshop {tenant!r}")
    if not may(user, tenant, method):
        raise HTTPException(403, f"You may not {'process orders of' if method == 'POST' else 'see'} webshop {tenant!r}")
    return configs[tenant]
