"""What Airflow's ProvidersManager reads from this distribution (entry point ``apache_airflow_provider``).

Three connection types with declarative forms (``conn-fields`` and ``ui-field-behaviour``, read by
Airflow 3.2+ without importing the hooks): ``prestashop``, ``eboekhouden`` and ``vies`` (optional: where the
ICP VAT-number check asks VIES). Every secret is a
``format: password`` field or the standard password field, so the UI's form hides it; the names of
the legacy SOAP codes are also registered with the masker (:mod:`prestashop_eboekhouden.masking`) so
``GET /api/v2/connections`` never shows them.

Connections of type ``http`` made before this provider existed keep working: the hooks read host,
password and extra whatever the connection type.
"""

from __future__ import annotations

from importlib import metadata

PACKAGE = "airflow-provider-prestashop-eboekhouden"


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # run from the repository, not installed
        return "0.0.0+repo"


def _text(label: str, description: str | None = None, default: str | None = None, **schema: object) -> dict:
    field: dict = {"label": label, "schema": {"type": ["string", "null"], **schema}}
    if default is not None:
        field["schema"]["default"] = default
    if description:
        field["description"] = description
    return field


def _secret(label: str, description: str) -> dict:
    return {"label": label, "schema": {"type": ["string", "null"], "format": "password"}, "description": description}


PRESTASHOP_FIELDS = {
    "auth": _text(
        "Key sent as", "basic: HTTP Basic user name (default); query: ?ws_key= (shops whose web server drops the Authorization header)",
        default="basic", enum=["basic", "query"],
    ),
}

EBOEKHOUDEN_FIELDS = {
    "api": _text(
        "API", "rest: the REST API with an API token (default); soap: the legacy SOAP API (administrations registered before 14 March 2025)",
        default="rest", enum=["rest", "soap"],
    ),
    "source": _text("Source", "Name of this integration in e-Boekhouden, at most 10 characters", default="PSEB", maxLength=10),
    "username": _text("SOAP username", "Legacy SOAP API only: the e-Boekhouden user name"),
    "security_code_1": _secret("SOAP security code 1", "Legacy SOAP API only: Administration > Settings > Webshop Invoices"),
    "security_code_2": _secret("SOAP security code 2", "Legacy SOAP API only: Administration > Settings > Webshop Invoices"),
}

CONNECTION_TYPES = [
    {
        "hook-class-name": "prestashop_eboekhouden.hooks.prestashop.PrestaShopHook",
        "hook-name": "PrestaShop webservice",
        "connection-type": "prestashop",
        "conn-fields": PRESTASHOP_FIELDS,
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "login", "port"],
            "relabeling": {"host": "Shop URL", "password": "Webservice key"},
            "placeholders": {"host": "https://shop.example.com", "extra": '{"timeout": 60}'},
        },
    },
    {
        "hook-class-name": "prestashop_eboekhouden.hooks.backends.EBoekhoudenConnectionHook",
        "hook-name": "e-Boekhouden",
        "connection-type": "eboekhouden",
        "conn-fields": EBOEKHOUDEN_FIELDS,
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "login", "port"],
            "relabeling": {"host": "API URL", "password": "REST API token"},
            "placeholders": {"host": "https://api.e-boekhouden.nl (legacy SOAP: https://soap.e-boekhouden.nl)"},
        },
    },
    {
        # optional: the connection vies_default points the ICP VAT-number check elsewhere (a proxy, the sandbox);
        # without it VIES's official endpoint is asked. VIES needs no credentials (a proxy's login may go here).
        "hook-class-name": "prestashop_eboekhouden.hooks.vies.ViesHook",
        "hook-name": "VIES VAT number check",
        "connection-type": "vies",
        "conn-fields": {},
        "ui-field-behaviour": {
            "hidden-fields": ["schema", "port"],
            "relabeling": {"host": "VIES service URL", "login": "Proxy login (optional)", "password": "Proxy password (optional)"},
            "placeholders": {"host": "https://ec.europa.eu/taxation_customs/vies/services/checkVatService", "extra": '{"timeout": 10}'},
        },
    },
]


def get_provider_info() -> dict:
    """The provider's metadata, in the form of Airflow's provider.yaml (validated by ProvidersManager); no side effects
    (the SOAP codes' names reach the masker where secrets are shown: the plugin in the API server, and the DAG file in
    the dag-processor and every task process)."""
    return {
        "package-name": PACKAGE,
        "name": "PrestaShop → e-Boekhouden",
        "description": "Books PrestaShop orders and payments into e-Boekhouden (REST or legacy SOAP API), for many webshops.",
        "versions": [_version()],
        "integrations": [
            {"integration-name": "PrestaShop", "external-doc-url": "https://devdocs.prestashop-project.org/", "tags": ["service"]},
            {"integration-name": "e-Boekhouden", "external-doc-url": "https://api.e-boekhouden.nl/swagger/", "tags": ["service"]},
            {"integration-name": "VIES", "external-doc-url": "https://ec.europa.eu/taxation_customs/vies/", "tags": ["service"]},
        ],
        "hooks": [
            {"integration-name": "PrestaShop", "python-modules": ["prestashop_eboekhouden.hooks.prestashop"]},
            {
                "integration-name": "e-Boekhouden",
                "python-modules": [
                    "prestashop_eboekhouden.hooks.backends",
                    "prestashop_eboekhouden.hooks.eboekhouden",
                    "prestashop_eboekhouden.hooks.eboekhouden_soap",
                ],
            },
            {"integration-name": "VIES", "python-modules": ["prestashop_eboekhouden.hooks.vies"]},
        ],
        "connection-types": CONNECTION_TYPES,
        # "Bookkeeping: this run" on every task of the tenant DAGs (the plugin attaches it to the operators)
        "extra-links": ["prestashop_eboekhouden.links.DashboardRunLink"],
    }
