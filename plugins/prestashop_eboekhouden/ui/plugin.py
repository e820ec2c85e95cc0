"""The Airflow plugin: mounts the dashboard at /bookkeeping/ and links it in the Airflow menu."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from prestashop_eboekhouden.ui import run_notes
from prestashop_eboekhouden.ui.app import create_app


class BookkeepingPlugin(AirflowPlugin):
    """Bookkeeping dashboard (Report, Errors, Open, Payments, Configuration) inside the Airflow UI."""

    name = "prestashop_eboekhouden"
    listeners = [run_notes]  # each finished run's note: what it booked and what went to Errors
    fastapi_apps = [{"app": create_app(), "url_prefix": "/bookkeeping", "name": "Bookkeeping"}]
    external_views = [
        {"name": "Bookkeeping", "href": "/bookkeeping/", "destination": "nav", "url_route": "bookkeeping", "icon": None},
    ]
