"""What keeps the dashboard's pages, exports and actions to the people and the page they are meant for.

- **Headers on every answer** (pages, JSON, CSV, redirects, errors): ``Cache-Control: no-store`` (bookkeeping data stays
  out of shared and browser caches), a Content-Security-Policy whose scripts and styles must carry the page's nonce and
  whose ``frame-ancestors 'self'`` lets only Airflow's own UI (the same origin) frame the dashboard, ``X-Frame-Options:
  SAMEORIGIN`` for older browsers, ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.
- **Actions (POST) only from the dashboard's own page**: the body must be ``application/json`` (a cross-site HTML form
  can only send ``text/plain``, form or multipart bodies, so it is refused with 415 before anything is read), and a
  request that relies on the login cookie must come from the same origin (``Origin``, else ``Referer``; a page on
  another port of the same host is another origin). A request with ``Authorization: Bearer`` is an API client: a
  browser never adds that header to a cross-site request, so it needs neither. Airflow's own login and permissions
  are checked as for every route.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

NONCE_KEY = "csp_nonce"
HEADERS = {
    "cache-control": "no-store",
    "pragma": "no-cache",
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "same-origin",
}
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
)
# The API docs page (Swagger UI) loads its script and style from FastAPI's CDN and starts with an inline script.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
)


def nonce(request: Request) -> str:
    """The nonce of this answer's Content-Security-Policy (templates put it on their <script> and <style>)."""
    return request.scope.setdefault("state", {}).setdefault(NONCE_KEY, secrets.token_urlsafe(16))


class SecurityHeaders:
    """ASGI middleware of the dashboard app: the headers above on every answer, whatever route or error made it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state.setdefault(NONCE_KEY, secrets.token_urlsafe(16))

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name.encode(), value.encode()) for name, value in HEADERS.items() if name.encode() not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CSP.format(nonce=state[NONCE_KEY]).encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, with the scheme's default port; None when it is no http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def own_origins(request: Request, configured: Iterable[str] = ()) -> set[tuple[str, str, int]]:
    """The origins the dashboard is served from: this request's own (as the browser addressed it) and Airflow's
    configured [api] base_url (a proxy in front may change the scheme or host the server sees)."""
    found = {_origin(str(request.base_url))}
    host = request.headers.get("host")
    if host:
        found.add(_origin(f"{request.url.scheme}://{host}/"))
    found.update(_origin(url) for url in configured if url)
    return {origin for origin in found if origin}


def airflow_base_url() -> str:
    """Airflow's [api] base_url ("" when not configured)."""
    try:
        from airflow.configuration import conf

        return conf.get("api", "base_url", fallback="") or ""
    except Exception:  # noqa: BLE001 - without Airflow's config, the request's own origin is all there is
        return ""


def guard_action(request: Request, configured: Iterable[str] | None = None) -> None:
    """Refuse an action (POST) that is not a JSON request from the dashboard's own origin (see the module's text)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise HTTPException(415, "Send the request as application/json (the dashboard's own page does)")
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return  # an API client with a token: no browser sends that header across sites
    allowed = own_origins(request, [airflow_base_url()] if configured is None else configured)
    origin = request.headers.get("origin")
    if origin and origin != "null":
        if _origin(origin) not in allowed:
            raise HTTPException(403, f"Refused: this request comes from another site ({origin[:100]}), not from the dashboard")
        return
    referer = request.headers.get("referer")
    if referer:
        if _origin(referer) not in allowed:
            raise HTTPException(403, "Refused: this request comes from another site, not from the dashboard")
        return
    raise HTTPException(403, "Refused: a request with the login cookie must come from the dashboard's own page (no Origin or Referer)")
