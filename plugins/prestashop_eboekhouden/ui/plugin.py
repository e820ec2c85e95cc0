"""The Airflow plugin: mounts the dashboard at /bookkeeping/ and links it in the Airflow menu."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from prestashop_eboekhouden.deadlines import BookkeepingDue
from prestashop_eboekhouden.links import DashboardRunLink, linked_operators
from prestashop_eboekhouden.masking import register_sensitive_names
from prestashop_eboekhouden.ui import run_notes
from prestashop_eboekhouden.ui.app import create_app

register_sensitive_names()  # the API server loads this plugin: GET /api/v2/connections hides the SOAP codes

PREFIX = "/bookkeeping"
DashboardRunLink.operators = linked_operators()


class SlashRedirect:
    """ASGI middleware of the API server: /bookkeeping (no slash) goes to /bookkeeping/ instead of the Airflow
    UI's "page not found" (the mounted app only sees paths below /bookkeeping/)."""

    def __init__(self, app, path: str = PREFIX):
        self.app, self.path = app, path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("path") == self.path:
            query = scope.get("query_string", b"").decode("latin-1")
            location = (scope.get("root_path", "") + self.path + "/" + (f"?{query}" if query else "")).encode("latin-1")
            await send({"type": "http.response.start", "status": 308, "headers": [(b"location", location), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class BookkeepingPlugin(AirflowPlugin):
    """Bookkeeping dashboard (Report, Errors, Open, Payments, Configuration) inside the Airflow UI."""

    name = "prestashop_eboekhouden"
    listeners = [run_notes]  # each finished run's note: what it booked and what went to Errors
    fastapi_apps = [{"app": create_app(), "url_prefix": PREFIX, "name": "Bookkeeping"}]
    fastapi_root_middlewares = [{"middleware": SlashRedirect, "args": [], "kwargs": {}, "name": "Bookkeeping: /bookkeeping → /bookkeeping/"}]
    # "Bookkeeping: this run" on every task of the tenant DAGs (made by the API server from the task instance's key)
    operator_extra_links = [DashboardRunLink()]
    # the deadline reference of the tenants' deadline alerts: the scheduler (and the API server, for triggered runs)
    # evaluates it when it creates a run (prestashop_eboekhouden.deadlines)
    deadline_references = [BookkeepingDue]
    external_views = [
        {"name": "Bookkeeping", "href": "/bookkeeping/", "destination": "nav", "url_route": "bookkeeping", "icon": None},
    ]
