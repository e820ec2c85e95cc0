"""Emulators of the PrestaShop webservice and the e-Boekhouden REST and legacy SOAP APIs, with seeded data and fault injection.

- ``sandbox.servers.SandboxServers``: the apps, seeded, on free loopback ports (a context manager);
- ``create_prestashop_app(state, faults)`` / ``create_eboekhouden_app(state, faults)`` / ``create_soap_app(books, faults)``:
  the FastAPI apps (REST and SOAP share one ``BooksState``);
- ``ShopState`` / ``BooksState``: the data behind them, readable and changeable from tests;
- ``FaultConfig`` / ``FaultRule`` / ``FaultInjector``: latency, random faults and scripted faults;
- ``python -m sandbox``: run them until stopped.
"""

from sandbox.books import BooksState
from sandbox.eboekhouden import create_eboekhouden_app
from sandbox.faults import FaultConfig, FaultInjector, FaultRule
from sandbox.prestashop import create_prestashop_app
from sandbox.servers import SandboxServers
from sandbox.shop import ShopState
from sandbox.soap import create_soap_app

__all__ = [
    "BooksState",
    "FaultConfig",
    "FaultInjector",
    "FaultRule",
    "SandboxServers",
    "ShopState",
    "create_eboekhouden_app",
    "create_prestashop_app",
    "create_soap_app",
]
