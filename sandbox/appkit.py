"""What both emulator apps share: request counts, exact JSON, the common admin routes and the middleware stack."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from sandbox.faults import (
    ADMIN_PREFIX,
    ASGIApp,
    ErrorBody,
    FaultConfig,
    FaultInjector,
    FaultMiddleware,
    FaultRule,
    Message,
    Receive,
    RequestPath,
    Scope,
    Send,
    scope_path,
)

_ENCODER = msgspec.json.Encoder(decimal_format="number")


class RequestStats:
    """How many requests an emulator answered, per (method, path key, status 0 = connection broken); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def record(self, method: str, path: str, status: int) -> None:
        """Count one request."""
        with self._lock:
            self._counts[(method.upper(), path, status)] += 1

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """Requests matching the given method, path key and status (None: any)."""
        with self._lock:
            return sum(
                n
                for (m, p, s), n in self._counts.items()
                if (method is None or m == method.upper()) and (path is None or p == path) and (status is None or s == status)
            )

    def snapshot(self) -> dict[tuple[str, str, int], int]:
        """A copy of all counts."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._counts.clear()

    def as_json(self) -> list[dict[str, Any]]:
        """The counts as JSON rows, sorted."""
        return [{"method": m, "path": p, "status": s, "count": n} for (m, p, s), n in sorted(self.snapshot().items())]


class StatsMiddleware:
    """ASGI middleware counting every non-admin request with the status the client saw."""

    def __init__(self, app: ASGIApp, stats: RequestStats, key_of: Callable[[str], str], request_path: RequestPath = scope_path) -> None:
        self.app = app
        self.stats = stats
        self.key_of = key_of
        self.request_path = request_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and count it."""
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        status = 0

        async def counting_send(message: Message) -> None:
            """Pass a message on, noting the status."""
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self.stats.record(scope["method"], self.key_of(self.request_path(scope)), status)


class ExactJSONResponse(JSONResponse):
    """JSON with Decimal amounts written as exact numbers (never through float)."""

    def render(self, content: Any) -> bytes:
        """Encode with msgspec (Decimal → number)."""
        return _ENCODER.encode(content)


def parse_json(raw: bytes, *, exact: bool = True) -> Any:
    """A request body as JSON; numbers with a fraction become Decimal when exact (ValueError when not JSON)."""
    if not raw.strip():
        return None
    return json.loads(raw, parse_float=Decimal) if exact else json.loads(raw)


def install_middleware(
    app: FastAPI,
    stats: RequestStats,
    faults: FaultInjector,
    error_body: ErrorBody,
    key_of: Callable[[str], str],
    *,
    request_path: RequestPath = scope_path,
    error_content_type: str | None = None,
) -> None:
    """Counting outside, faults inside: the counts show what clients saw, injected faults included.

    ``request_path`` names the request for fault rules and counts (default: the URL path);
    ``error_content_type`` lets ``error_body`` return a finished non-JSON body (see FaultMiddleware).
    """
    app.add_middleware(
        FaultMiddleware, injector=faults, error_body=error_body, request_path=request_path, error_content_type=error_content_type
    )
    app.add_middleware(StatsMiddleware, stats=stats, key_of=key_of, request_path=request_path)


def admin_router(stats: RequestStats, faults: FaultInjector) -> APIRouter:
    """The admin routes both emulators have: health, stats and faults (no authentication)."""
    router = APIRouter(prefix=ADMIN_PREFIX)

    @router.get("/health")
    def health() -> dict[str, str]:
        """The server is up."""
        return {"status": "ok"}

    @router.get("/stats")
    def get_stats() -> dict[str, Any]:
        """Request counts and injected faults."""
        return {"requests": stats.as_json(), "total": stats.count(), "faults_injected": faults.describe()["injected"]}

    @router.post("/reset-stats")
    def reset_stats() -> dict[str, bool]:
        """Forget request and fault counts."""
        stats.reset()
        faults.reset_counts()
        return {"ok": True}

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        """The fault configuration, pending rules and injected counts."""
        return faults.describe()

    @router.put("/faults")
    async def put_faults(request: Request) -> Response:
        """Replace the fault configuration (FaultConfig as JSON, with optional rules)."""
        return _apply(lambda data: faults.configure(FaultConfig.from_dict(data or {})), await request.body(), faults)

    @router.post("/faults/rules")
    async def add_rule(request: Request) -> Response:
        """Append one scripted rule."""
        return _apply(lambda data: faults.add_rule(FaultRule.from_dict(data)), await request.body(), faults)

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        """No faults, no rules."""
        faults.clear()
        return faults.describe()

    return router


def _apply(change: Callable[[Any], Any], raw: bytes, faults: FaultInjector) -> Response:
    """Apply a fault change from a JSON body; 400 with the reason when it is not valid."""
    try:
        change(parse_json(raw, exact=False))
    except (ValueError, TypeError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(faults.describe())
