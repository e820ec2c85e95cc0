"""The bookkeeping dashboard: a FastAPI app mounted in the Airflow API server at /bookkeeping/.

Per tenant: Report (booked), Errors, Open, Payments and Configuration, server-rendered with Jinja2, over a JSON API
that is also public (documented in the README; its OpenAPI description and docs page behind the same login). Every
route needs an Airflow login (the UI's JWT cookie or a Bearer token); reading a tenant needs read access to its hourly
DAG, an action (Process, worked off, Run, mailing a problem report) the right to trigger it, and must be a JSON request
from the dashboard's own origin (``ui/security.py``). Every answer carries ``Cache-Control: no-store`` and security
headers. Bad input gets a friendly page (HTML) or a 422 (JSON), never a traceback.

The routes are thin: listings and page context in ``ui/pages.py``, actions in ``ui/actions.py`` and ``ui/runs.py``,
the problem report in ``ui/problem_report.py``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError

from prestashop_eboekhouden.config import TenantConfig, load_tenants
from prestashop_eboekhouden.inputs import InputError
from prestashop_eboekhouden.inputs import order_ids as parse_order_ids
from prestashop_eboekhouden.store import BOOKED, StateStore, get_store
from prestashop_eboekhouden.ui import access, actions, pages, problem_report, runs
from prestashop_eboekhouden.ui.queries import DashboardQueries
from prestashop_eboekhouden.ui.reconcile import add_reconcile_routes
from prestashop_eboekhouden.ui.rows import CSV_FORMATS, csv_lines, order_row, payment_row, plain, refund_row, shown_time
from prestashop_eboekhouden.ui.run_view import MAX_RUN_ID
from prestashop_eboekhouden.ui.security import DOCS_CSP, SecurityHeaders, guard_action, nonce
from prestashop_eboekhouden.ui.vies import with_vies

log = logging.getLogger(__name__)
HOURLY = runs.HOURLY
PAGE = pages.PAGE
MAX_PAGE = 500
MAX_OFFSET = 10**9
MAX_BODY = actions.MAX_BODY
HEALTH_TTL = 60.0  # seconds a connection check is reused: viewers cannot spend the tenant's API quota
BUSY = "The database is busy: a run is writing to it. Try again in a few seconds (a run this started shows in the run list)."
BUSY_RETRY_S = 5
TABS = pages.TABS
reprocess = runs.reprocess  # the Process action (kept importable here)
run_state = runs.run_state  # looked up at call time: tests replace it


def _listing(store: StateStore, kind: str, tenant: str, state: str | None, since: str | None, until: str | None, q: str | None, limit: int, offset: int) -> dict:
    """One page of a tab as the JSON API answers it, in UTC (the benchmarks and the PostgreSQL test read it this way)."""
    return pages.listing(store, tenant, None, kind, state, since, until, q, limit, offset)


async def _acting(request: Request, tenant: str) -> tuple[Any, TenantConfig]:
    """An action's user and tenant: logged in, allowed to trigger the tenant's DAG, a JSON request from our own origin."""
    user = await access.current_user(request)
    config = access.tenant_config(tenant, user, "POST")
    guard_action(request)
    return user, config


def _ids(value: str, name: str) -> list[int]:
    try:
        return parse_order_ids(value, name)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None


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


def _version() -> str:
    from prestashop_eboekhouden.provider_info import _version as package_version

    return package_version()


def is_locked(exc: OperationalError) -> bool:
    """The database refused for a lock held by another writer (SQLite's "database is locked"; PostgreSQL's lock_not_available)."""
    return "database is locked" in str(exc.orig or exc) or getattr(exc.orig, "pgcode", None) == "55P03"


def create_app(store: StateStore | None = None) -> FastAPI:
    """The dashboard app (a fresh one per call; the plugin mounts one)."""
    app = FastAPI(title="Bookkeeping: PrestaShop → e-Boekhouden", version=_version(), docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SecurityHeaders)
    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    the_store = store

    def db() -> StateStore:
        from prestashop_eboekhouden.migrations import StoreSchemaError

        try:
            return the_store or get_store()
        except StoreSchemaError as exc:  # not migrated yet: say what to run instead of a bare 500
            raise HTTPException(503, str(exc)) from None

    def render(request: Request, name: str, context: dict, status_code: int = 200):
        base = request.scope.get("root_path", "")
        return templates.TemplateResponse(request, name, {**context, "base": base, "nonce": nonce(request)}, status_code=status_code)

    @app.exception_handler(access.NotLoggedIn)
    async def _login(request: Request, exc: access.NotLoggedIn):
        if _is_api(request):
            return JSONResponse({"detail": f"Log in to Airflow first ({exc})"}, status_code=401)
        from airflow.api_fastapi.app import get_auth_manager

        return RedirectResponse(get_auth_manager().get_url_login(next_url=str(request.url)), status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_problem(request: Request, exc: HTTPException):
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        return render(request, "problem.html", {"status": exc.status_code, "message": message}, exc.status_code)

    @app.exception_handler(OperationalError)
    async def _busy(request: Request, exc: OperationalError):
        """SQLite (the demo's Airflow and state store) lets one writer in at a time: while a backfill writes, an action
        may find the database locked. Say so and when to try again (working off is one transaction; a second Process
        joins a queued one), instead of a 500."""
        if not is_locked(exc):
            raise exc
        log.warning("Dashboard %s %s: the database is locked (%s)", request.method, request.url.path, type(exc).__name__)
        if _is_api(request):
            return JSONResponse({"detail": BUSY}, status_code=503, headers={"Retry-After": str(BUSY_RETRY_S)})
        return render(request, "problem.html", {"status": 503, "message": BUSY}, 503)

    @app.exception_handler(RequestValidationError)
    async def _bad_input(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'input'}: {e.get('msg')}" for e in exc.errors()]
        if _is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return render(request, "problem.html", {"status": 422, "message": "This page cannot be shown for that address: " + "; ".join(problems)}, 422)

    # -- the API's own description, behind the same login ----------------------------------------

    @app.get("/api/openapi.json", include_in_schema=False)
    async def api_openapi(request: Request) -> JSONResponse:
        await access.current_user(request)
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs(request: Request) -> HTMLResponse:
        await access.current_user(request)
        page = get_swagger_ui_html(openapi_url=f"{request.scope.get('root_path', '')}/api/openapi.json", title=f"{app.title} {app.version}")
        page.headers["content-security-policy"] = DOCS_CSP
        return page

    # -- JSON API --------------------------------------------------------------------------------

    @app.get("/api/tenants")
    async def api_tenants(request: Request) -> dict:
        user = await access.current_user(request)
        loaded = load_tenants()
        visible = [t for t in loaded.tenants if access.may(user, t.tenant, "GET")]
        counts = DashboardQueries(db()).entries_counts
        return {
            "tenants": [{"tenant": t.tenant, "counts": counts(t.tenant), "dag_id": HOURLY.format(tenant=t.tenant)} for t in visible],
            "invalid_files": [{"file": e.path.name, "problems": list(e.problems)} for e in loaded.errors],
        }

    @app.get("/api/tenants/{tenant}/orders")
    async def api_orders(
        request: Request, tenant: str, state: str | None = None, since: str | None = None, until: str | None = None,
        q: str | None = None, limit: int = Query(PAGE, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET),
        run_id: str | None = Query(None, max_length=MAX_RUN_ID),
    ) -> dict:
        config = access.tenant_config(tenant, await access.current_user(request))
        answer = pages.listing(
            db(), tenant, config.timezone, "orders", state, since, until, q, limit, offset, pages.file_of(config), run_id, config.prestashop.admin_url,
        )
        if state == BOOKED and not run_id:
            totals = DashboardQueries(db()).entries_totals(tenant, pages.parse_date(since, "since"), pages.parse_date(until, "until"), q)
            answer["totals"] = {k: plain(v) for k, v in totals.items()}
        return answer

    @app.get("/api/tenants/{tenant}/payments")
    async def api_payments(
        request: Request, tenant: str, state: str | None = None, since: str | None = None, until: str | None = None,
        q: str | None = None, limit: int = Query(PAGE, ge=1, le=MAX_PAGE), offset: int = Query(0, ge=0, le=MAX_OFFSET),
        run_id: str | None = Query(None, max_length=MAX_RUN_ID),
    ) -> dict:
        config = access.tenant_config(tenant, await access.current_user(request))
        answer = pages.listing(db(), tenant, config.timezone, "payments", state, since, until, q, limit, offset, pages.file_of(config), run_id)
        since_d, until_d = pages.parse_date(since, "since"), pages.parse_date(until, "until")
        answer["refunds"] = [refund_row(r) for r in DashboardQueries(db()).booked_credits(tenant, since_d, until_d, q)]
        return answer

    @app.get("/api/tenants/{tenant}/export.csv")
    async def api_export(
        request: Request, tenant: str, tab: str = "booked", since: str | None = None, until: str | None = None, q: str | None = None, format: str = "csv",
    ):
        """Any tab with its filters as CSV (streamed); format=excel-nl for Dutch Excel (BOM, ";", decimal comma)."""
        config = access.tenant_config(tenant, await access.current_user(request))
        if tab not in ("booked", "error", "open", "payments", "resolved"):
            raise HTTPException(422, "tab must be booked, error, resolved, open or payments")
        if format not in CSV_FORMATS:
            raise HTTPException(422, f"format must be {' or '.join(CSV_FORMATS)}")
        since_d, until_d = pages.parse_date(since, "since"), pages.parse_date(until, "until")
        kind, state = ("payments", None) if tab == "payments" else ("orders", tab)
        label = "worked-off" if tab == "resolved" else TABS[tab].lower()
        name = f"{tenant}-{label}{'-' + since if since else ''}{'-' + until if until else ''}{'-excel-nl' if format == 'excel-nl' else ''}.csv"
        return StreamingResponse(
            csv_lines(db(), kind, tenant, state, since_d, until_d, q, format, config.timezone, pages.file_of(config)),
            media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @app.get("/api/tenants/{tenant}/config")
    async def api_config(request: Request, tenant: str) -> dict:
        return access.tenant_config(tenant, await access.current_user(request)).public_dict()

    @app.get("/api/tenants/{tenant}/probe")
    async def api_probe(request: Request, tenant: str) -> dict:
        """The tenant's last `setup probe` (findings and what was learnt); {"probe": null} when it was never probed."""
        access.tenant_config(tenant, await access.current_user(request))
        return {"probe": last_probe(db(), tenant)}

    @app.get("/api/tenants/{tenant}/health")
    async def api_health(request: Request, tenant: str) -> dict:
        config = access.tenant_config(tenant, await access.current_user(request))
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(cached_health, config)

    @app.post("/api/tenants/{tenant}/reprocess")
    async def api_reprocess(request: Request, tenant: str) -> dict:
        user, config = await _acting(request, tenant)
        body = await actions.json_body(request, actions.ReprocessRequest)
        return runs.reprocess(db(), tenant, body.order_ids, user, body.slip_ids, body.payment_ids, config.payments.enabled, config.timezone)

    @app.post("/api/tenants/{tenant}/resolve")
    async def api_resolve(request: Request, tenant: str) -> dict:
        user, _ = await _acting(request, tenant)
        return actions.resolve(db(), tenant, await actions.json_body(request, actions.ResolveRequest), user)

    @app.post("/api/tenants/{tenant}/run")
    async def api_run_now(request: Request, tenant: str) -> dict:
        user, config = await _acting(request, tenant)
        return actions.run_now(config, await actions.json_body(request, actions.RunRequest), user)

    @app.get("/api/tenants/{tenant}/runs/{run_id}")
    async def api_run(request: Request, tenant: str, run_id: str, order_ids: str = "", slip_ids: str = "", payment_ids: str = "", dag: str = "orders_hourly") -> dict:
        """A run of the tenant's hourly (or payments) DAG — state, note, what it waits for — and where the given orders,
        credit slips and payments stand now: what the page shows while it follows a Process."""
        config = access.tenant_config(tenant, await access.current_user(request))
        if dag not in runs.DAG_KINDS:
            raise HTTPException(422, f"dag must be {' or '.join(runs.DAG_KINDS)}")
        ids, slips, pays = _ids(order_ids, "order_ids"), _ids(slip_ids, "slip_ids"), _ids(payment_ids, "payment_ids")
        dag_id = runs.DAG_KINDS[dag].format(tenant=tenant)
        run = run_state(dag_id, run_id, config.timezone)
        if run is None:
            raise HTTPException(404, f"No run {run_id!r} of {dag_id}")
        store, tz, statuses = db(), config.timezone, db().status_names(tenant)
        path = pages.file_of(config)
        found = store.get_orders(tenant, ids) if ids else {}
        credit_rows = store.get_credits(tenant, slips) if slips else {}
        payment_rows = store.get_payments(tenant, pays) if pays else {}
        return {
            **run,
            "orders": with_vies(store, tenant, [order_row(found[i], tz, statuses, path) for i in ids if i in found]),
            "credits": [order_row({**credit_rows[s], "kind": "credit"}, tz, None, path) for s in slips if s in credit_rows],
            "payments": [payment_row(payment_rows[p], tz, path) for p in pays if p in payment_rows],
        }

    @app.get("/api/tenants/{tenant}/problem/{kind}/{key}.json")
    async def api_problem(request: Request, tenant: str, kind: str, key: int) -> Response:
        """The redacted problem report of one item in Errors, to download (``ui/problem_report.py``)."""
        config = access.tenant_config(tenant, await access.current_user(request))
        data = await _problem(config, kind, key)
        name = f"problem-{tenant}-{kind}-{key}.json"
        return Response(problem_report.as_json(data), media_type="application/json", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/api/tenants/{tenant}/problem/{kind}/{key}/mail")
    async def api_problem_mail(request: Request, tenant: str, kind: str, key: int) -> dict:
        """Mail the problem report to the tenant's support address."""
        user, config = await _acting(request, tenant)
        from starlette.concurrency import run_in_threadpool

        data = await _problem(config, kind, key)
        return await run_in_threadpool(problem_report.mail, config, data, actions.who(user))

    async def _problem(config: TenantConfig, kind: str, key: int) -> dict:
        from starlette.concurrency import run_in_threadpool

        store = db()
        rows = {"order": store.get_orders, "credit": store.get_credits, "payment": store.get_payments}.get(kind, lambda *_: {})(config.tenant, [key])
        row = rows.get(key)
        if row is None:
            raise HTTPException(404, f"There is no {kind} {key} of webshop {config.tenant!r}")
        shown = payment_row(row, config.timezone) if kind == "payment" else order_row({**row, "kind": kind}, config.timezone, store.status_names(config.tenant), pages.file_of(config))
        return await run_in_threadpool(problem_report.bundle, store, config, kind, key, shown)

    # -- HTML ------------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request):
        user = await access.current_user(request)
        loaded = load_tenants()
        visible = [t for t in loaded.tenants if access.may(user, t.tenant, "GET")]
        if len(visible) == 1 and not loaded.errors:
            return RedirectResponse(f"{request.scope.get('root_path', '')}/tenants/{visible[0].tenant}", status_code=303)
        counts = DashboardQueries(db()).entries_counts
        return render(request, "index.html", {"tenants": [(t.tenant, counts(t.tenant)) for t in visible], "errors": loaded.errors})

    @app.get("/tenants/{tenant}", response_class=HTMLResponse)
    async def tenant_page(
        request: Request, tenant: str, tab: str = "booked", since: str | None = None, until: str | None = None,
        q: str | None = None, page: str = "1", worked_off: str = "", run_id: str | None = Query(None, max_length=MAX_RUN_ID),
    ):
        user = await access.current_user(request)
        config = access.tenant_config(tenant, user)
        store = db()
        context = pages.tenant_context(store, config, tab, since, until, q, page, worked_off in ("1", "true", "yes"), run_id)
        context.update(can_process=access.may(user, tenant, "POST"), hourly_dag=HOURLY.format(tenant=tenant), support=bool(config.support))
        if tab == "config":
            probe = context["probe"] = last_probe(store, tenant)
            if probe:
                probe["probed_shown"] = shown_time(probe["probed_at"].removesuffix("Z") + "+00:00", config.timezone)
        return render(request, "tenant.html", context)

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
