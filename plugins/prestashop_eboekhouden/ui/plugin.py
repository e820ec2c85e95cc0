"""The Airflow plugin: mounts the dashboard at /bookkeeping/ and links it in the Airflow menu."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from prestashop_eboekhouden.masking import register_sensitive_names
from prestashop_eboekhouden.ui.app import create_app

register_sensitive_names()  # the API server loads this plugin: GET /api/v2/connections hides the SOAP codes


class BookkeepingPlugin(AirflowPlugin):
    """Bookkeeping dashboard (Report, Errors, Open, Payments, Configuration) inside the Airflow UI."""

    name = "prestashop_eboekhouden"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/bookkeeping", "name": "Bookkeeping"}]
    external_views = [
        {"name": "Bookkeeping", "href": "/bookkeeping/", "destination": "nav", "url_route": "bookkeeping", "icon": None},
    ]
