"""Emulators of the PrestaShop webservice and the e-Boekhouden REST API, with seeded data and fault injection.

- ``sandbox.servers.SandboxServers``: both apps, seeded, on free loopback ports (a context manager);
- ``create_prestashop_app(state, faults)`` / ``create_eboekhouden_app(state, faults)``: the FastAPI apps;
- ``ShopState`` / ``BooksState``: the data behind them, readable and changeable from tests;
- ``FaultConfig`` / ``FaultRule`` / ``FaultInjector``: latency, random faults and scripted faults;
- ``python -m sandbox``: run both until stopped.
"""

from sandbox.books import BooksState
from sandbox.eboekhouden import create_eboekhouden_app
from sandbox.faults import FaultConfig, FaultInjector, FaultRule
from sandbox.prestashop import create_prestashop_app
from sandbox.servers import SandboxServers
from sandbox.shop import ShopState

__all__ = [
    "BooksState",
    "FaultConfig",
    "FaultInjector",
    "FaultRule",
    "SandboxServers",
    "ShopState",
    "create_eboekhouden_app",
    "create_prestashop_app",
]
