"""The bookkeeping dashboard: a FastAPI app mounted in the Airflow API server at /bookkeeping/.

Per tenant: Report (booked), Errors, Open, Payments and Configuration, server-rendered with Jinja2,
over a JSON API that is also public (documented in the README). Every route needs an Airflow login
(the UI's JWT cookie or a Bearer token); reading a tenant needs read access to its hourly DAG,
Process needs the right to trigger it.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from prestashop_eboekhouden.config import TenantConfig, load_tenants
from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN, StateStore, get_store, orders, payments

log = logging.getLogger(__name__)
HOURLY = "{tenant}__orders_hourly"
PAGE = 50
MAX_PAGE = 500
MAX_REPROCESS = 500
TABS = {"booked": "Report", "error": "Errors", "open": "Open", "payments": "Payments", "config": "Configuration"}
ORDER_FIELDS = (
    "order_id", "reference", "sales_number", "order_date", "shop_status", "state", "reason", "error_code",
    "amount_incl", "amount_excl", "eb_kind", "eb_id", "eb_number", "relation_code", "attempts", "last_try",
    "booked_at", "first_seen", "payment_state",
)
PAYMENT_FIELDS = (
    "payment_id", "order_id", "reference", "sales_number", "amount", "method", "transaction_id", "payment_date",
    "state", "reason", "error_code", "eb_id", "attempts", "last_try", "booked_at",
)


class NotLoggedIn(Exception):
    """No valid Airflow login on the request."""


class ReprocessRequest(BaseModel):
    """Orders to process again (from Errors or Open)."""

    order_ids: list[int] = Field(min_length=1, max_length=MAX_REPROCESS)


# ---- access ------------------------------------------------------------------------------------


async def current_user(request: Request) -> Any:
    """The Airflow user of the request (JWT cookie of the UI, or a Bearer token)."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    try:
        return await get_user(request, None, await bearer_scheme(request))
    except HTTPException as exc:
        raise NotLoggedIn(exc.detail) from None


def may(user: Any, tenant: str, method: str) -> bool:
    """Whether the user may read (GET) or trigger (POST) the tenant's hourly DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    entity = DagAccessEntity.RUN if method == "POST" else None
    return get_auth_manager().is_authorized_dag(method=method, access_entity=entity, details=DagDetails(id=HOURLY.format(tenant=tenant)), user=user)


def _tenant(tenant: str, user: Any, method: str = "GET") -> TenantConfig:
    configs = {t.tenant: t for t in load_tenants().tenants}
    if tenant not in configs:
        raise HTTPException(404, f"No tenant {tenant!r}")
    if not may(user, tenant, method):
        raise HTTPException(403, f"You may not {'process orders of' if method == 'POST' else 'see'} tenant {tenant!r}")
    return configs[tenant]


# ---- shaping rows ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def order_row(row: dict) -> dict:
    """An order as the JSON API shows it (amounts as exact strings; no plan, no personal data)."""
    out = {field: _plain(row.get(field)) for field in ORDER_FIELDS}
    incl, excl = row.get("amount_incl"), row.get("amount_excl")
    out["amount_vat"] = _plain(incl - excl) if incl is not None and excl is not None else None
    return out


def payment_row(row: dict) -> dict:
    """A payment as the JSON API shows it."""
    return {field: _plain(row.get(field)) for field in PAYMENT_FIELDS}


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be a date YYYY-MM-DD, not {value!r}") from None


def _listing(store: StateStore, kind: str, tenant: str, state: str | None, since: str | None, until: str | None, q: str | None, limit: int, offset: int) -> dict:
    if state is not None and state not in (OPEN, BOOKED, ERROR):
        raise HTTPException(422, "state must be open, booked or error")
    table, shape = (orders, order_row) if kind == "orders" else (payments, payment_row)
    rows, total = store.list_rows(table, tenant, state, _date(since, "since"), _date(until, "until"), q, limit, offset)
    return {
        "tenant": tenant, "state": state, "total": total, "limit": limit, "offset": offset,
        "counts": store.counts(tenant, table), "rows": [shape(r) for r in rows],
    }


# ---- the app -----------------------------------------------------------------------------------


def create_app(store: StateStore | None = None) -> FastAPI:
    """The dashboard app (a fresh one per call; the plugin mounts one)."""
    app = FastAPI(title="Bookkeeping: PrestaShop → e-Boekhouden", docs_url="/api/docs", openapi_url="/api/openapi.json")
    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    the_store = store

    def db() -> StateStore:
        from prestashop_eboekhouden.migrations import StoreSchemaError

        try:
            return the_store or get_store()
        except StoreSchemaError as exc:  # not migrated yet: say what to run instead of a bare 500
            raise HTTPException(503, str(exc)) from None

    @app.exception_handler(NotLoggedIn)
    async def _login(request: Request, exc: NotLoggedIn):
        if request.url.path.rstrip("/").split("/")[-1] == "api" or "/api/" in request.url.path:
            return JSONResponse({"detail": f"Log in to Airflow first ({exc})"}, status_code=401)
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)

    # -- JSON API --------------------------------------------------------------------------------

    @app.get("/api/tenants")
    async def api_tenants(request: Request) -> dict:
        user = await current_user(request)
        loaded = load_tenants()
        visible = [t for t in loaded.tenants if may(user, t.tenant, "GET")]
        return {
            "tenants": [{"tenant": t.tenant, "counts": db().counts(t.tenant), "dag_id": HOURLY.format(tenant=t.tenant)} for t in visible],
            "invalid_files": [{"file": e.path.name, "problems": list(e.problems)} for e in loaded.errors],
        }

    @app.get("/api/tenants/{tenant}/orders")
    async def api_orders(
        request: Request, tenant: str, state: str | None = None, since: str | None = None, until: str | None = None,
        q: str | None = None, limit: int = Query(PAGE, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0),
    ) -> dict:
        _tenant(tenant, await current_user(request))
        return _listing(db(), "orders", tenant, state, since, until, q, limit, offset)

    @app.get("/api/tenants/{tenant}/payments")
    async def api_payments(
        request: Request, tenant: str, state: str | None = None, since: str | None = None, until: str | None = None,
        q: str | None = None, limit: int = Query(PAGE, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0),
    ) -> dict:
        _tenant(tenant, await current_user(request))
        return _listing(db(), "payments", tenant, state, since, until, q, limit, offset)

    @app.get("/api/tenants/{tenant}/config")
    async def api_config(request: Request, tenant: str) -> dict:
        return _tenant(tenant, await current_user(request)).public_dict()

    @app.get("/api/tenants/{tenant}/health")
    async def api_health(request: Request, tenant: str) -> dict:
        config = _tenant(tenant, await current_user(request))
        return check_connections(config)

    @app.post("/api/tenants/{tenant}/reprocess")
    async def api_reprocess(request: Request, tenant: str, body: ReprocessRequest) -> dict:
        user = await current_user(request)
        _tenant(tenant, user, "POST")
        return reprocess(db(), tenant, body.order_ids, user)

    # -- HTML ------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request):
        user = await current_user(request)
        loaded = load_tenants()
        visible = [t for t in loaded.tenants if may(user, t.tenant, "GET")]
        if len(visible) == 1 and not loaded.errors:
            return RedirectResponse(f"{request.scope.get('root_path', '')}/tenants/{visible[0].tenant}", status_code=303)
        return templates.TemplateResponse(
            request, "index.html", {"tenants": [(t.tenant, db().counts(t.tenant)) for t in visible], "errors": loaded.errors, "base": request.scope.get("root_path", "")}
        )

    @app.get("/tenants/{tenant}", response_class=HTMLResponse)
    async def tenant_page(
        request: Request, tenant: str, tab: str = "booked", since: str | None = None, until: str | None = None,
        q: str | None = None, page: int = Query(1, ge=1),
    ):
        user = await current_user(request)
        config = _tenant(tenant, user)
        if tab not in TABS:
            raise HTTPException(404, f"No tab {tab!r}")
        context: dict[str, Any] = {
            "tenant": tenant, "tab": tab, "tabs": TABS, "since": since or "", "until": until or "", "q": q or "",
            "page": page, "base": request.scope.get("root_path", ""), "can_process": may(user, tenant, "POST"),
            "order_counts": db().counts(tenant), "payment_counts": db().counts(tenant, payments),
            "hourly_dag": HOURLY.format(tenant=tenant),
        }
        if tab == "config":
            context["config"] = config.public_dict()
            context["runs"] = db().last_runs(tenant)
        else:
            kind = "payments" if tab == "payments" else "orders"
            listing = _listing(db(), kind, tenant, None if kind == "payments" else tab, since, until, q, PAGE, (page - 1) * PAGE)
            today = dt.date.today()
            for row in listing["rows"]:
                row["age_days"] = (today - dt.date.fromisoformat(row["order_date"])).days if row.get("order_date") else None
            context.update(listing=listing, pages=max(1, -(-listing["total"] // PAGE)))
        return templates.TemplateResponse(request, "tenant.html", context)

    return app


def check_connections(config: TenantConfig) -> dict:
    """Green/red per API: each is called once; errors are shown without secrets."""
    from prestashop_eboekhouden.hooks.backends import bookkeeping_api
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook

    results = {}
    for name, make in (("prestashop", lambda: PrestaShopHook(config.prestashop_conn_id, max_attempts=1)), ("eboekhouden", lambda: bookkeeping_api(config.eboekhouden_conn_id, max_attempts=1))):
        try:
            ok, message = make().test_connection()
        except Exception as exc:  # noqa: BLE001 - a missing connection is a red light, not a 500
            ok, message = False, f"{type(exc).__name__}: {exc}"
        results[name] = {"ok": ok, "message": message[:300]}
    return results


def reprocess(store: StateStore, tenant: str, order_ids: list[int], user: Any) -> dict:
    """Trigger the tenant's hourly DAG for the chosen orders that are not booked."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    known = store.get_orders(tenant, order_ids)
    wanted = [oid for oid in dict.fromkeys(order_ids) if oid in known and known[oid]["state"] != BOOKED]
    skipped = {oid: ("already booked" if oid in known else "unknown order") for oid in order_ids if oid not in wanted}
    if not wanted:
        raise HTTPException(409, {"message": "Nothing to process", "skipped": skipped})
    dag_id = HOURLY.format(tenant=tenant)
    run_id = f"reprocess__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    dag_run = trigger_dag(
        dag_id, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=getattr(user, "get_name", lambda: None)(),
        run_id=run_id, conf={"order_ids": wanted}, note=f"Process {len(wanted)} order(s) from the bookkeeping dashboard",
    )
    if dag_run is None:
        raise HTTPException(409, f"{dag_id} could not be triggered")
    return {"dag_id": dag_id, "dag_run_id": dag_run.run_id, "url": f"/dags/{dag_id}/runs/{dag_run.run_id}", "order_ids": wanted, "skipped": skipped}
