"""The dashboard's actions (POST), each a JSON request from its own page (``ui/security.guard_action``):

- **Process** rows of Errors or Open (orders, credit slips, payments): ``reprocess`` in ``ui/runs.py``;
- **Worked off**: Errors marked "booked by hand" or "dismissed", with who, when and a note (kept, never deleted, never
  booked by the integration);
- **Run**: the tenant's hourly DAG for order ids or a period, checked with the same rules as the DAG's params and
  answered with the exact problem (what Airflow's trigger form cannot show: it says only "Bad Request").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field, ValidationError, model_validator

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.inputs import MAX_ORDER_IDS, InputError, OrderIds, moment
from prestashop_eboekhouden.inputs import order_ids as parse_order_ids
from prestashop_eboekhouden.store import StateStore
from prestashop_eboekhouden.ui.runs import HOURLY, start_run

MAX_BODY = 64 * 1024  # bytes of an action's request
MAX_NOTE = 500


class ReprocessRequest(BaseModel):
    """Orders, credit slips and payments to process again (from Errors or Open); at least one id."""

    order_ids: OrderIds = Field(default_factory=list)
    slip_ids: OrderIds = Field(default_factory=list)
    payment_ids: OrderIds = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> ReprocessRequest:
        if not (self.order_ids or self.slip_ids or self.payment_ids):
            raise ValueError("choose at least one order, credit slip or payment")
        if len(self.order_ids) + len(self.slip_ids) + len(self.payment_ids) > MAX_ORDER_IDS:
            raise ValueError(f"at most {MAX_ORDER_IDS} ids per Process")
        return self


class ResolveRequest(BaseModel):
    """Errors worked off: which (kind and ids), how, and a note."""

    kind: Literal["order", "credit", "payment"]
    ids: Annotated[OrderIds, Field(min_length=1)]
    resolution: Literal["by_hand", "dismissed"]
    note: str = Field(default="", max_length=MAX_NOTE)


class RunRequest(BaseModel):
    """A run of the hourly DAG for order ids (a list, or text such as "1041, 1042") or a period (since / until)."""

    order_ids: list[Any] | str | None = None
    since: str | None = Field(default=None, max_length=40)
    until: str | None = Field(default=None, max_length=40)


async def json_body(request: Request, model: type[BaseModel]) -> Any:
    """The request's JSON body as the model, at most MAX_BODY bytes (413), or 422 naming each problem."""
    declared = request.headers.get("content-length")
    too_big = f"At most {MAX_BODY // 1024} KiB per request ({MAX_ORDER_IDS} ids)"
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, too_big)
    raw = b""
    async for part in request.stream():
        raw += part
        if len(raw) > MAX_BODY:
            raise HTTPException(413, too_big)
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors(include_url=False)]
        raise HTTPException(422, problems) from None


def who(user: Any) -> str:
    """The Airflow user's name, as the record of a worked-off Error keeps it."""
    name = getattr(user, "get_name", None)
    return str(name() if callable(name) else getattr(user, "username", None) or "unknown user")


def resolve(store: StateStore, tenant: str, body: ResolveRequest, user: Any) -> dict:
    """Mark Errors worked off; each one not changed is named with why (not in Errors, or a task holds it right now)."""
    done = store.resolve(tenant, body.kind, body.ids, body.resolution, who(user), body.note)
    skipped = {str(k): "not in Errors (booked, worked off already, or being booked right now)" for k in body.ids if k not in done}
    if not done:
        raise HTTPException(409, {"message": "Nothing was changed", "skipped": skipped})
    return {"kind": body.kind, "resolution": body.resolution, "resolved": done, "resolved_by": who(user), "skipped": skipped}


def run_now(config: TenantConfig, body: RunRequest, user: Any) -> dict:
    """Trigger the tenant's hourly DAG for order ids or a period, after the checks the run itself would make: every
    problem is named (422) before a run exists."""
    problems: list[str] = []
    try:
        ids = parse_order_ids(body.order_ids, "Order ids")
    except InputError as exc:
        problems.append(str(exc))
        ids = []
    since = until = None
    try:
        since = moment(body.since, config.timezone, "Since") if (body.since or "").strip() else None
    except InputError as exc:
        problems.append(str(exc))
    try:
        until = moment(body.until, config.timezone, "Until") if (body.until or "").strip() else None
    except InputError as exc:
        problems.append(str(exc))
    if since is not None and until is not None and until <= since:
        problems.append(f"Until ({until:%Y-%m-%d %H:%M}) must be after since ({since:%Y-%m-%d %H:%M}, {config.timezone})")
    if until is not None and since is None:
        problems.append("Until needs a since (the window starts there)")
    if ids and since is not None:
        problems.append("Give order ids or a period, not both (order ids are processed whatever their date)")
    if not ids and since is None and not problems:
        problems.append("Give order ids, or a period with since (and until)")
    if problems:
        raise HTTPException(422, problems)
    conf: dict[str, Any] = {"order_ids": ids} if ids else {"since": since.isoformat()}  # type: ignore[union-attr]
    if until is not None:
        conf["until"] = until.isoformat()
    what = f"{len(ids)} order(s)" if ids else f"the period from {since:%Y-%m-%d %H:%M}" + (f" to {until:%Y-%m-%d %H:%M}" if until else "")  # type: ignore[union-attr]
    run = start_run(HOURLY.format(tenant=config.tenant), user, conf, f"Run {what} ({config.timezone}) from the bookkeeping dashboard", prefix="dashboard", tz=config.timezone)
    return {**run, "conf": conf, "order_ids": ids, "dag": "orders_hourly"}
