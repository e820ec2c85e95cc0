"""The dashboard's Reconcile tab: a period's differences between the shop, the books and e-Boekhouden (each once, with the
next step), the totals per VAT regime and code side by side, the VAT summary, CSV of both, and "Run now", which triggers
``<tenant>__reconcile_daily`` for the period and follows it (as Process follows the hourly DAG).

Reading the tab needs read access to the tenant (as every tab); Run now needs the right to trigger the reconciliation
DAG; Process (orders no run saw) and "book again" (sales the bookkeeper confirms deleted in e-Boekhouden) the right to
trigger the hourly DAG. The reconciliation itself never books or changes anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from prestashop_eboekhouden.domain.reconcile import KINDS, LABELS, NOT_SEEN
from prestashop_eboekhouden.inputs import OrderIds
from prestashop_eboekhouden.ui import access
from prestashop_eboekhouden.ui.pages import TABS, parse_date
from prestashop_eboekhouden.ui.reconcile_queries import ReconcileQueries, csv_differences, csv_totals
from prestashop_eboekhouden.ui.security import guard_action, nonce

RECONCILE = "{tenant}__reconcile_daily"
HOURLY = "{tenant}__orders_hourly"
PAGE = 50
MAX_DAYS = 370


class RunRequest(BaseModel):
    """A period to reconcile now."""

    since: dt.date
    until: dt.date


class ChosenRequest(BaseModel):
    """Orders (and credit slips) chosen in the tab."""

    order_ids: OrderIds = Field(default_factory=list)
    slip_ids: OrderIds = Field(default_factory=list)


def presets(today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """The period picker's quick choices."""
    yesterday = today - dt.timedelta(days=1)
    month = today.replace(day=1)
    last_month_end = month - dt.timedelta(days=1)
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter - dt.timedelta(days=1)
    last_quarter = dt.date(last_quarter_end.year, 3 * ((last_quarter_end.month - 1) // 3) + 1, 1)
    return {
        "Yesterday": (yesterday, yesterday), "This month": (month, today), "Last month": (last_month_end.replace(day=1), last_month_end),
        "This quarter": (quarter, today), "Last quarter": (last_quarter, last_quarter_end),
    }  # fmt: skip


def _kind(value: str | None) -> str | None:
    if value and value not in KINDS:
        raise HTTPException(422, f"kind must be one of {', '.join(KINDS)}")
    return value or None


def _period(queries: ReconcileQueries, tenant: str, since: str | None, until: str | None, run_id: str | None = None, config: Any = None) -> tuple[dt.date, dt.date]:
    """The period asked for; a run of the reconciliation (``run_id``, where its task's "Bookkeeping: this run" link
    lands): the period it covers; none: the latest reconciled one (the daily run's yesterday), else yesterday."""
    if run_id and not since and not until:
        return run_period(queries.store, config, tenant, run_id)
    first, last = parse_date(since, "since"), parse_date(until, "until")
    if first is None and last is None:
        latest = queries.latest_run(tenant)
        if latest is not None:
            return latest["since"], latest["until"]
        yesterday = dt.date.today() - dt.timedelta(days=1)
        return yesterday, yesterday
    first, last = first or last, last or first
    assert first is not None and last is not None
    if last < first or (last - first).days >= MAX_DAYS:
        raise HTTPException(422, "The period must run forward and be at most a year long")
    return first, last


def run_period(store: Any, config: Any, tenant: str, run_id: str) -> tuple[dt.date, dt.date]:
    """The period a run of ``<tenant>__reconcile_daily`` covers: as it recorded it, else as its params and logical date
    say (a run that has not started yet, or failed before it recorded its period)."""
    from prestashop_eboekhouden.store_reconcile import ReconcileLedger

    recorded = ReconcileLedger(store).run_of(tenant, run_id)
    if recorded is not None:
        return recorded["since"], recorded["until"]
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    from prestashop_eboekhouden.operators.reconcile import reconcile_period
    from prestashop_eboekhouden.operators.tasks import CannotRun

    dag_id = RECONCILE.format(tenant=tenant)
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one_or_none()
        if run is None:
            raise HTTPException(404, f"No run {run_id!r} of {dag_id}")
        context = {"params": dict(run.conf or {}), "logical_date": run.logical_date, "dag_run": run}
        try:
            return reconcile_period(context, config)  # type: ignore[arg-type]
        except CannotRun as exc:
            raise HTTPException(422, f"Run {run_id} of {dag_id}: {exc}") from None


def _run_json(run: dict | None) -> dict | None:
    if run is None:
        return None
    return {
        "id": run["id"], "since": run["since"].isoformat(), "until": run["until"].isoformat(), "state": run["state"], "dag_id": run["dag_id"],
        "run_id": run["run_id"], "finished_at": run["finished_at"].isoformat() if run["finished_at"] else None, "summary": run["summary"] or {},
    }  # fmt: skip


def reconcile_listing(queries: ReconcileQueries, tenant: str, since: dt.date, until: dt.date, kind: str | None, limit: int, offset: int) -> dict:
    """The tab's data: the period's open differences (a page), counts per kind, and its latest reconciliation."""
    counts = queries.counts(tenant, since, until)
    run = queries.latest_run(tenant, since, until)
    return {
        "tenant": tenant, "since": since.isoformat(), "until": until.isoformat(), "kind": kind, "counts": counts,
        "total": counts[kind] if kind else sum(counts.values()), "limit": limit, "offset": offset,
        "rows": queries.rows(tenant, since, until, kind, limit, offset), "run": _run_json(run),
        "totals": (run or {}).get("totals") or [], "vat_summary": (run or {}).get("vat_summary") or {"return": [], "oss": []},
    }  # fmt: skip


async def json_from_the_dashboard(request: Request) -> None:
    """The Reconcile tab's actions as every other action of the dashboard: logged in (else 401), then a JSON request from
    the dashboard's own origin (ui/security.py: 415 / 403), before the body is looked at."""
    await access.current_user(request)
    guard_action(request)


def add_reconcile_routes(app: FastAPI, templates: Jinja2Templates, db: Any) -> None:
    """The Reconcile tab's page and JSON API on the dashboard app (``db``: the app's store getter)."""
    @app.get("/api/tenants/{tenant}/reconcile")
    async def api_reconcile(
        request: Request, tenant: str, since: str | None = None, until: str | None = None, kind: str | None = None,
        limit: int = Query(PAGE, ge=1, le=500), offset: int = Query(0, ge=0, le=10**9), run_id: str | None = Query(None, max_length=250),
    ) -> dict:  # fmt: skip
        config = access.tenant_config(tenant, await access.current_user(request))
        queries = ReconcileQueries(db())
        first, last = _period(queries, tenant, since, until, run_id, config)
        return reconcile_listing(queries, tenant, first, last, _kind(kind), limit, offset)

    @app.get("/api/tenants/{tenant}/reconcile/export.csv")
    async def api_reconcile_csv(request: Request, tenant: str, since: str | None = None, until: str | None = None, what: str = "differences", kind: str | None = None):
        access.tenant_config(tenant, await access.current_user(request))
        if what not in ("differences", "totals"):
            raise HTTPException(422, "what must be differences or totals")
        queries = ReconcileQueries(db())
        first, last = _period(queries, tenant, since, until)
        name = f"{tenant}-reconcile-{what}-{first}-{last}.csv"
        if what == "totals":
            lines = csv_totals(((queries.latest_run(tenant, first, last) or {}).get("totals")) or [])
        else:
            lines = csv_differences(queries.iter_rows(tenant, first, last, _kind(kind)))
        return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/api/tenants/{tenant}/reconcile/run", dependencies=[Depends(json_from_the_dashboard)])
    async def api_reconcile_run(request: Request, tenant: str, body: RunRequest) -> dict:
        user = await access.current_user(request)
        access.tenant_config(tenant, user)
        dag_id = RECONCILE.format(tenant=tenant)
        if not may_trigger(user, dag_id):
            raise HTTPException(403, f"You may not run the reconciliation of webshop {tenant!r}")
        if body.until < body.since or (body.until - body.since).days >= MAX_DAYS:
            raise HTTPException(422, "The period must run forward and be at most a year long")
        conf = {"since": body.since.isoformat(), "until": body.until.isoformat()}
        return trigger(dag_id, "reconcile", conf, user, f"Reconcile {body.since} … {body.until} from the bookkeeping dashboard")

    @app.get("/api/tenants/{tenant}/reconcile/runs/{run_id}")
    async def api_reconcile_follow(request: Request, tenant: str, run_id: str) -> dict:
        """A reconciliation run's state and note, and what it found: what the tab shows while it follows Run now."""
        access.tenant_config(tenant, await access.current_user(request))
        found = run_state(RECONCILE.format(tenant=tenant), run_id)
        if found is None:
            raise HTTPException(404, f"No run {run_id!r} of {RECONCILE.format(tenant=tenant)}")
        from prestashop_eboekhouden.store_reconcile import ReconcileLedger

        return {**found, "reconcile": _run_json(ReconcileLedger(db()).run_of(tenant, run_id))}

    @app.post("/api/tenants/{tenant}/reconcile/process", dependencies=[Depends(json_from_the_dashboard)])
    async def api_reconcile_process(request: Request, tenant: str, body: ChosenRequest) -> dict:
        """Process orders no run has seen (their not_seen difference): the hourly DAG with their ids."""
        user = await access.current_user(request)
        access.tenant_config(tenant, user, "POST")
        wanted = _with_open_difference(db(), tenant, NOT_SEEN, body.order_ids, [])[0]
        if not wanted:
            raise HTTPException(409, "None of these orders has an open difference 'never seen by a run'")
        return trigger(HOURLY.format(tenant=tenant), "process", {"order_ids": wanted}, user, f"Process {len(wanted)} order(s) no run had seen (Reconcile tab)")

    @app.post("/api/tenants/{tenant}/reconcile/book-again", dependencies=[Depends(json_from_the_dashboard)])
    async def api_reconcile_book_again(request: Request, tenant: str, body: ChosenRequest) -> dict:
        """The bookkeeper confirms these sales (credits) were deleted in e-Boekhouden: back to Open, then Process."""
        from prestashop_eboekhouden.store_reconcile import ReconcileLedger

        user = await access.current_user(request)
        access.tenant_config(tenant, user, "POST")
        who = getattr(user, "get_name", lambda: None)() or "the dashboard"
        dag_id = HOURLY.format(tenant=tenant)
        _not_queued(dag_id, "process")  # before the store changes: a sale is opened again only with a run to book it
        orders, slips = ReconcileLedger(db()).book_again(tenant, body.order_ids, body.slip_ids, who)
        if not orders and not slips:
            raise HTTPException(409, "None of these has an open difference 'missing in e-Boekhouden' (booked by us, not there)")
        order_ids = list(dict.fromkeys([*orders, *(r["order_id"] for r in db().get_credits(tenant, slips).values())]))
        answer = trigger(dag_id, "process", {"order_ids": order_ids}, user, f"Book again {len(orders)} sale(s), {len(slips)} credit(s) deleted in e-Boekhouden")
        return {**answer, "booked_again": {"orders": orders, "slips": slips}}

    @app.get("/tenants/{tenant}/reconcile", response_class=HTMLResponse)
    async def reconcile_page(
        request: Request, tenant: str, since: str | None = None, until: str | None = None, kind: str | None = None, page: str = "1",
        run_id: str | None = Query(None, max_length=250),
    ):  # fmt: skip
        user = await access.current_user(request)
        config = access.tenant_config(tenant, user)
        store = db()
        queries = ReconcileQueries(store)
        first, last = _period(queries, tenant, since, until, run_id, config)
        chosen = _kind(kind)
        counts = queries.counts(tenant, first, last)
        total = counts[chosen] if chosen else sum(counts.values())
        pages = max(1, -(-total // PAGE))
        number = min(int(page) if page.strip().isdigit() and len(page.strip()) < 10 else 1, pages)
        listing = reconcile_listing(queries, tenant, first, last, chosen, PAGE, (number - 1) * PAGE)
        context = {
            "tenant": tenant, "tab": "reconcile", "tabs": TABS, "base": request.scope.get("root_path", ""),
            "since": first.isoformat(), "until": last.isoformat(), "kind": chosen or "", "labels": LABELS, "kinds": KINDS,
            "unbooked": queries.unbooked(tenant, first, last),
            "listing": listing, "page": number, "pages": pages, "presets": presets(dt.date.today()), "hourly_dag": HOURLY.format(tenant=tenant),
            "reconcile_dag": RECONCILE.format(tenant=tenant), "can_run": may_trigger(user, RECONCILE.format(tenant=tenant)),
            "can_process": access.may(user, tenant, "POST"), "enabled": config.reconcile.enabled, "nonce": nonce(request),
        }  # fmt: skip
        return templates.TemplateResponse(request, "reconcile.html", context)


def _with_open_difference(store: Any, tenant: str, kind: str, order_ids: list[int], slip_ids: list[int]) -> tuple[list[int], list[int]]:
    from sqlalchemy import select

    from prestashop_eboekhouden.schema import differences

    subjects = [f"order {i}" for i in order_ids] + [f"slip {i}" for i in slip_ids]
    if not subjects:
        return [], []
    stmt = select(differences.c.subject).where(
        differences.c.tenant == tenant, differences.c.kind == kind, differences.c.resolved_at.is_(None), differences.c.subject.in_(subjects)
    )
    with store.engine.connect() as conn:
        found = {r[0] for r in conn.execute(stmt)}
    return [i for i in dict.fromkeys(order_ids) if f"order {i}" in found], [i for i in dict.fromkeys(slip_ids) if f"slip {i}" in found]


def may_trigger(user: Any, dag_id: str) -> bool:
    """Whether the user may trigger this DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user)


def trigger(dag_id: str, prefix: str, conf: dict, user: Any, note: str) -> dict:
    """Trigger a DAG run (409 while an earlier one of the same kind is still queued: it has not started yet)."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    _not_queued(dag_id, prefix)
    from airflow.exceptions import DagNotFound

    run_id = f"{prefix}__{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    try:
        dag_run = trigger_dag(
            dag_id, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=getattr(user, "get_name", lambda: None)(), run_id=run_id, conf=conf, note=note
        )
    except DagNotFound:
        raise HTTPException(404, f"{dag_id} is not in Airflow (yet): is it switched off in the tenant file, or not parsed yet?") from None
    if dag_run is None:
        raise HTTPException(409, f"{dag_id} could not be triggered")
    return {"dag_id": dag_id, "dag_run_id": dag_run.run_id, "url": f"/dags/{dag_id}/runs/{dag_run.run_id}", "conf": conf}


def _not_queued(dag_id: str, prefix: str) -> None:
    """409 while an earlier run of this kind is still queued (it has not started: one more would only wait behind it)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        queued = (
            session.query(DagRun.run_id)
            .filter(DagRun.dag_id == dag_id, DagRun.state == DagRunState.QUEUED, DagRun.run_id.like(f"{prefix}\\_\\_%", escape="\\"))
            .first()
        )
    if queued is not None:
        raise HTTPException(409, {"message": f"An earlier run ({queued[0]}) is still waiting to start; try again once it runs", "dag_run_id": queued[0], "url": f"/dags/{dag_id}/runs/{queued[0]}"})


def run_state(dag_id: str, run_id: str) -> dict | None:
    """State and note of a DAG run (the API server reads Airflow's metadata DB)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id).one_or_none()
        if run is None:
            return None
        return {"dag_id": dag_id, "dag_run_id": run_id, "state": str(run.state), "note": run.note, "url": f"/dags/{dag_id}/runs/{run_id}"}
