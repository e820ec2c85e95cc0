"""The bookkeeping dashboard: a FastAPI app mounted in the Airflow API server at /bookkeeping/.

Per tenant: Report (booked), Errors, Open, Payments and Configuration, server-rendered with Jinja2,
over a JSON API that is also public (documented in the README). Every route needs an Airflow login
(the UI's JWT cookie or a Bearer token); reading a tenant needs read access to its hourly DAG,
Process needs the right to trigger it. Bad input gets a friendly page (HTML) or a 422 (JSON), never a
traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field, ValidationError

from prestashop_eboekhouden.config import TenantConfig, load_tenants
from prestashop_eboekhouden.inputs import MAX_ORDER_IDS, InputError, OrderIds
from prestashop_eboekhouden.inputs import order_ids as parse_order_ids
from prestashop_eboekhouden.store import BOOKED, ERROR, OPEN, StateStore, get_store
from prestashop_eboekhouden.ui.queries import DashboardQueries
from prestashop_eboekhouden.ui.reconcile import add_reconcile_routes
from prestashop_eboekhouden.ui.rows import csv_lines, order_row, payment_row, plain, refund_row
from prestashop_eboekhouden.ui.run_view import MAX_RUN_ID, run_listing, with_admin_links
from prestashop_eboekhouden.ui.vies import with_vies

log = logging.getLogger(__name__)
HOURLY = "{tenant}__orders_hourly"
PAGE = 50
MAX_PAGE = 500
MAX_OFFSET = 10**9
MAX_REPROCESS = MAX_ORDER_IDS  # order ids per Process
MAX_BODY = 64 * 1024  # bytes of a Process request
HEALTH_TTL = 60.0  # seconds a connection check is reused: viewers cannot spend the tenant's API quota
TABS = {"booked": "Report", "error": "Errors", "open": "Open", "payments": "Payments", "config": "Configuration"}


class NotLoggedIn(Exception):
    """No valid Airflow login on the request."""


class ReprocessRequest(BaseModel):
    """Orders to process again (from Errors or Open)."""

    order_ids: Annotated[OrderIds, Field(min_length=1)]


# ---- access ------------------------------------------------------------------------------------


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


def _tenant(tenant: str, user: Any, method: Literal["GET", "POST"] = "GET") -> TenantConfig:
    configs = {t.tenant: t for t in load_tenants().tenants}
    if tenant not in configs:
        raise HTTPException(404, f"There is no webshop {tenant!r}")
    if not may(user, tenant, method):
        raise HTTPException(403, f"You may not {'process orders of' if method == 'POST' else 'see'} webshop {tenant!r}")
    return configs[tenant]


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be a date YYYY-MM-DD, not {value[:40]!r}") from None


def _state(state: str | None) -> str | None:
    if state is not None and state not in (OPEN, BOOKED, ERROR):
        raise HTTPException(422, "state must be open, booked or error")
    return state


def _listing(
    store: StateStore, kind: str, tenant: str, state: str | None, since: str | None, until: str | None, q: str | None, limit: int, offset: int,
    run_id: str | None = None, admin_url: str | None = None,
) -> dict:
    state = _state(state)
    if run_id:  # one run's rows (the "Bookkeeping: this run" link of its tasks); period and search do not apply
        found = run_listing(store, kind, tenant, run_id, state, limit, offset)
        shape = order_row if kind == "orders" else payment_row
        rows = [shape(r) for r in found.pop("rows")]
        rows = with_admin_links(admin_url, with_vies(store, tenant, rows)) if kind == "orders" else rows
        totals = found.pop("totals", None)
        if totals is not None and state == BOOKED:
            found["totals"] = {k: plain(v) for k, v in totals.items()}
        return {"tenant": tenant, "state": state, "limit": limit, "offset": offset, **found, "rows": rows, "run_id": run_id}
    since_d, until_d = _date(since, "since"), _date(until, "until")
    queries = DashboardQueries(store)
    if kind == "orders":  # orders and credit slips together, each row with its kind
        rows, total, kinds = queries.list_entries_by_kind(tenant, state, since_d, until_d, q, limit, offset)
        counts, shape = queries.entries_counts(tenant, since_d, until_d, q), order_row
        return {
            "tenant": tenant, "state": state, "total": total, "limit": limit, "offset": offset, "counts": counts,
            "kinds": kinds, "rows": with_admin_links(admin_url, with_vies(store, tenant, [shape(r) for r in rows])), "run_id": None,
        }
    rows, total = queries.payment_rows(tenant, state, since_d, until_d, q, limit, offset)
    counts = queries.payment_counts(tenant, since_d, until_d, q)
    return {"tenant": tenant, "state": state, "total": total, "limit": limit, "offset": offset, "counts": counts, "rows": [payment_row(r) for r in rows], "run_id": None}


# ---- connection checks, cached per tenant ------------------------------------------------------

_health: dict[str, tuple[float, dict]] = {}
_health_locks: dict[str, threading.Lock] = {}
_health_guard = threading.Lock()


def cached_health(config: TenantConfig, check=None, now=time.monotonic) -> dict:
    """The tenant's connection check, at most once a minute whoever asks (one check at a time per tenant)."""
    check = check or check_connections
    with _health_guard:
        lock = _health_locks.setdefault(config.tenant, threading.Lock())
    with lock:
        found = _health.get(config.tenant)
        if found and now() - found[0] < HEALTH_TTL:
            return {**found[1], "checked_seconds_ago": round(now() - found[0])}
        result = check(config)
        _health[config.tenant] = (now(), result)
        return {**result, "checked_seconds_ago": 0}


# ---- the app -----------------------------------------------------------------------------------


def _is_api(request: Request) -> bool:
    return "/api/" in request.url.path or request.url.path.rstrip("/").endswith("/api")


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

    def problem_page(request: Request, status: int, message: str):
        return templates.TemplateResponse(
            request, "problem.html", {"status": status, "message": message, "base": request.scope.get("root_path", "")}, status_code=status
        )

    @app.exception_handler(NotLoggedIn)
    async def _login(request: Request, exc: NotLoggedIn):
        if _is_api(request):
            return JSONResponse({"detail": f"Log in to Airflow first ({exc})"}, status_code=401)
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_problem(request: Request, exc: HTTPException):
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return problem_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _bad_input(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'input'}: {e.get('msg')}" for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return problem_page(request, 422, "This page cannot be shown for that address: " + "; ".join(problems))

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
        q: str | None = None, limit: int = Query(PAGE, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET),
        run_id: str | None = Query(None, max_length=MAX_RUN_ID),
    ) -> dict:
        config = _tenant(tenant, await current_user(request))
        answer = _listing(db(), "orders", tenant, state, since, until, q, limit, offset, run_id, config.prestashop.admin_url)
        if state == BOOKED and not run_id:
            answer["totals"] = {k: plain(v) for k, v in DashboardQueries(db()).entries_totals(tenant, _date(since, "since"), _date(until, "until"), q).items()}
        return answer

    @app.get("/api/tenants/{tenant}/payments")
    async def api_payments(
        request: Request, tenant: str, state: str | None = None, since: str | None = None, until: str | None = None,
        q: str | None = None, limit: int = Query(PAGE, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET),
        run_id: str | None = Query(None, max_length=MAX_RUN_ID),
    ) -> dict:
        _tenant(tenant, await current_user(request))
        answer = _listing(db(), "payments", tenant, state, since, until, q, limit, offset, run_id)
        answer["refunds"] = [refund_row(r) for r in DashboardQueries(db()).booked_credits(tenant, _date(since, "since"), _date(until, "until"), q)]
        return answer

    @app.get("/api/tenants/{tenant}/export.csv")
    async def api_export(request: Request, tenant: str, tab: str = "booked", since: str | None = None, until: str | None = None, q: str | None = None):
        """Any tab with its filters as CSV (streamed)."""
        _tenant(tenant, await current_user(request))
        if tab not in ("booked", "error", "open", "payments"):
            raise HTTPException(422, "tab must be booked, error, open or payments")
        since_d, until_d = _date(since, "since"), _date(until, "until")
        kind, state = ("payments", None) if tab == "payments" else ("orders", tab)
        name = f"{tenant}-{TABS[tab].lower()}{'-' + since if since else ''}{'-' + until if until else ''}.csv"
        return StreamingResponse(
            csv_lines(db(), kind, tenant, state, since_d, until_d, q), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/api/tenants/{tenant}/config")
    async def api_config(request: Request, tenant: str) -> dict:
        return _tenant(tenant, await current_user(request)).public_dict()

    @app.get("/api/tenants/{tenant}/probe")
    async def api_probe(request: Request, tenant: str) -> dict:
        """The tenant's last `setup probe` (findings and what was learnt); {"probe": null} when it was never probed."""
        _tenant(tenant, await current_user(request))
        return {"probe": last_probe(db(), tenant)}

    @app.get("/api/tenants/{tenant}/health")
    async def api_health(request: Request, tenant: str) -> dict:
        config = _tenant(tenant, await current_user(request))
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(cached_health, config)

    @app.post("/api/tenants/{tenant}/reprocess")
    async def api_reprocess(request: Request, tenant: str) -> dict:
        user = await current_user(request)
        _tenant(tenant, user, "POST")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            raise HTTPException(413, f"At most {MAX_BODY // 1024} KiB per request ({MAX_REPROCESS} orders)")
        raw = b""
        async for part in request.stream():
            raw += part
            if len(raw) > MAX_BODY:
                raise HTTPException(413, f"At most {MAX_BODY // 1024} KiB per request ({MAX_REPROCESS} orders)")
        try:
            body = ReprocessRequest.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)]
            raise HTTPException(422, problems) from None
        return reprocess(db(), tenant, body.order_ids, user)

    @app.get("/api/tenants/{tenant}/runs/{run_id}")
    async def api_run(request: Request, tenant: str, run_id: str, order_ids: str = "") -> dict:
        """A run of the tenant's hourly DAG (state and note) and where the given orders stand now: what the page
        shows while it follows a Process."""
        _tenant(tenant, await current_user(request))
        try:
            ids = parse_order_ids(order_ids)
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        run = run_state(HOURLY.format(tenant=tenant), run_id)
        if run is None:
            raise HTTPException(404, f"No run {run_id!r} of {HOURLY.format(tenant=tenant)}")
        rows = db().get_orders(tenant, ids) if ids else {}
        return {**run, "orders": with_vies(db(), tenant, [order_row(rows[i]) for i in ids if i in rows])}

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
        q: str | None = None, page: str = "1", run_id: str | None = Query(None, max_length=MAX_RUN_ID),
    ):
        user = await current_user(request)
        config = _tenant(tenant, user)
        if tab not in TABS:
            raise HTTPException(404, f"There is no tab {tab[:40]!r}: choose one of {', '.join(TABS.values())}")
        number = int(page) if page.strip().isdigit() and len(page.strip()) < 10 else 1
        since_d, until_d = _date(since, "From"), _date(until, "To")
        store = db()
        queries = DashboardQueries(store)
        context: dict[str, Any] = {
            "tenant": tenant, "tab": tab, "tabs": TABS, "since": since or "", "until": until or "", "q": q or "",
            "base": request.scope.get("root_path", ""), "can_process": may(user, tenant, "POST"),
            "order_counts": queries.entries_counts(tenant, since_d, until_d, q),
            "payment_counts": queries.payment_counts(tenant, since_d, until_d, q),
            "hourly_dag": HOURLY.format(tenant=tenant), "filtered": bool(since or until or (q or "").strip()),
            "payments_enabled": config.payments.enabled,
        }
        if run_id:  # one run's rows: its counts per tab, its DAG (from its report, else the tab's DAG)
            context["order_counts"] = run_listing(store, "orders", tenant, run_id, None, 1, 0)["counts"]
            context["payment_counts"] = run_listing(store, "payments", tenant, run_id, None, 1, 0)["counts"]
            fallback = f"{tenant}__payments_daily" if tab == "payments" else context["hourly_dag"]
            context.update(run_id=run_id, run_dag=queries.run_dag_ids(tenant, [run_id]).get(run_id, fallback), filtered=True)
        if tab == "config":
            context["config"] = config.public_dict()
            context["runs"] = queries.last_runs(tenant)
            context["probe"] = last_probe(store, tenant)
            context["page"] = 1
        else:
            kind = "payments" if tab == "payments" else "orders"
            state = None if kind == "payments" else tab
            listing = _listing(store, kind, tenant, state, since, until, q, PAGE, (number - 1) * PAGE, run_id, config.prestashop.admin_url)
            pages = max(1, -(-listing["total"] // PAGE))
            if number > pages:  # past the last page: show the last
                number = pages
                listing = _listing(store, kind, tenant, state, since, until, q, PAGE, (number - 1) * PAGE, run_id, config.prestashop.admin_url)
            today = dt.date.today()
            for row in listing["rows"]:
                row["age_days"] = (today - dt.date.fromisoformat(row["order_date"][:10])).days if row.get("order_date") else None
            if kind == "orders":
                dag_ids = queries.run_dag_ids(tenant, [r["run_id"] for r in listing["rows"] if r.get("run_id")])
                for row in listing["rows"]:
                    row["run_dag_id"] = dag_ids.get(row.get("run_id") or "", context["hourly_dag"])
            if tab == "booked":
                context["totals"] = listing.get("totals") or {k: plain(v) for k, v in queries.entries_totals(tenant, since_d, until_d, q).items()}
            if tab == "payments":
                context["refunds"] = [refund_row(r) for r in queries.booked_credits(tenant, since_d, until_d, q)]
            context.update(listing=listing, pages=pages, page=number)
        return templates.TemplateResponse(request, "tenant.html", context)

    add_reconcile_routes(app, templates, db)  # the Reconcile tab (ui/reconcile.py)
    return app


def last_probe(store: StateStore, tenant: str) -> dict | None:
    """The tenant's last `setup probe` as JSON-safe data (ui: the Configuration tab), None when never probed."""
    from prestashop_eboekhouden.store_probe import ProbeStore

    row = ProbeStore.of(store).last(tenant)
    if row is None:
        return None
    findings = list(row["findings"] or [])
    return {
        "probed_at": row["probed_at"].isoformat(timespec="seconds") + "Z", "blocking": row["blocking"],
        "red": [f for f in findings if f.get("status") == "BLOCKS"], "findings": findings,
        "eboekhouden": {"api": row["eboekhouden_api"], "url": row["eboekhouden_url"]},
        "page_cap": row["page_cap"], "page_cap_uniform": row["page_cap_uniform"], "connections": (row["learnt"] or {}).get("connections", {}),
    }  # fmt: skip


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


def run_state(dag_id: str, run_id: str) -> dict | None:
    """State and note of a DAG run (the API server reads Airflow's metadata DB)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one_or_none()
        if run is None:
            return None
        return {"dag_id": dag_id, "dag_run_id": run_id, "state": str(run.state), "note": run.note, "url": f"/dags/{dag_id}/runs/{run_id}"}


def pending_reprocess(dag_id: str) -> Any:
    """A Process run of the DAG that is still queued (it has not started: a second click joins it)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        run = (
            session.query(DagRun)
            .filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED, DagRun.run_id.like("reprocess\\_\\_%", escape="\\"))
            .order_by(DagRun.id.desc())
            .first()
        )
        if run is None:
            return None
        session.expunge(run)
        return run


def reprocess(store: StateStore, tenant: str, order_ids: list[int], user: Any) -> dict:
    """Trigger the tenant's hourly DAG for the chosen orders that are not booked.

    While an earlier Process of the tenant is still queued, another one is not queued behind it: the answer is
    409 naming that run (the orders it carries are processed first; press Process again when it has started)."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    known = store.get_orders(tenant, order_ids)
    wanted = [oid for oid in dict.fromkeys(order_ids) if oid in known and known[oid]["state"] != BOOKED]
    skipped = {oid: ("already booked" if oid in known else "unknown order") for oid in order_ids if oid not in wanted}
    if not wanted:
        raise HTTPException(409, {"message": "Nothing to process", "skipped": skipped})
    dag_id = HOURLY.format(tenant=tenant)
    queued = pending_reprocess(dag_id)
    if queued is not None:
        carried = list((queued.conf or {}).get("order_ids") or [])
        raise HTTPException(
            409,
            {
                "message": f"A Process of {len(carried)} order(s) is still waiting to start ({queued.run_id}); try again once it runs",
                "dag_run_id": queued.run_id, "url": f"/dags/{dag_id}/runs/{queued.run_id}", "order_ids": carried,
            },
        )
    run_id = f"reprocess__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    dag_run = trigger_dag(
        dag_id, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=getattr(user, "get_name", lambda: None)(),
        run_id=run_id, conf={"order_ids": wanted}, note=f"Process {len(wanted)} order(s) from the bookkeeping dashboard",
    )
    if dag_run is None:
        raise HTTPException(409, f"{dag_id} could not be triggered")
    return {"dag_id": dag_id, "dag_run_id": dag_run.run_id, "url": f"/dags/{dag_id}/runs/{dag_run.run_id}", "order_ids": wanted, "skipped": skipped}
