"""Running the emulators: one uvicorn server per app in a background thread, all seeded together.

The e-Boekhouden REST (``eboekhouden``) and legacy SOAP (``eboekhouden_soap``) emulators serve one administration;
the VIES emulator (``vies``) knows the shop's companies as registered.

>>> with SandboxServers(seed=42, orders=300) as sandbox:
...     requests.get(f"{sandbox.prestashop_url}/api/orders", params={"output_format": "JSON"}, auth=(key, ""))
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from sandbox.books import (
    DEFAULT_SOAP_SECURITY_CODE_1,
    DEFAULT_SOAP_SECURITY_CODE_2,
    DEFAULT_SOAP_USERNAME,
    DEFAULT_TOKEN,
    DEFAULT_TOKEN_LIFETIME,
    BooksState,
)
from sandbox.eboekhouden import create_eboekhouden_app
from sandbox.faults import ASGIApp, FaultConfig, FaultInjector, FaultRule
from sandbox.prestashop import create_prestashop_app
from sandbox.seed import LiveOrders, seed_books, seed_shop
from sandbox.shop import DEFAULT_KEY, ShopState, shop_now, shop_time
from sandbox.soap import create_soap_app
from sandbox.vies import ViesState, create_vies_app, shop_lookup

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
TARGETS = ("prestashop", "eboekhouden", "eboekhouden_soap", "vies")
# One FaultConfig given for all applies to the bookkeeping emulators; VIES's faults are set on their own (its
# downtime makes ICP orders wait in Open by design, which faults meant for the booking path should not).
SHARED_FAULT_TARGETS = ("prestashop", "eboekhouden", "eboekhouden_soap")


class ServerThread:
    """One ASGI app served by uvicorn on a loopback socket in a background thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0, name: str = "sandbox") -> None:
        self.app = app
        self.host = host
        self.name = name
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none", timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"{name}-server", daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start serving and wait until the socket accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} server did not start on {self.url}")
            time.sleep(0.005)

    def request_stop(self) -> None:
        """Ask the server to finish (returns at once)."""
        self._server.should_exit = True

    def join(self, timeout: float = STOP_TIMEOUT) -> None:
        """Wait for the server thread to end, then release the socket."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def stop(self) -> None:
        """Stop serving and wait for it."""
        self.request_stop()
        self.join()


def _fault_configs(faults: FaultConfig | Mapping[str, FaultConfig] | None) -> dict[str, FaultConfig]:
    """Per-emulator fault configurations from one config for all, a mapping by target, or None."""
    if faults is None or isinstance(faults, FaultConfig):
        return {target: (faults if target in SHARED_FAULT_TARGETS else None) or FaultConfig() for target in TARGETS}
    unknown = set(faults) - set(TARGETS)
    if unknown:
        raise ValueError(f"unknown fault target(s) {sorted(unknown)}; use {TARGETS}")
    return {target: faults.get(target) or FaultConfig() for target in TARGETS}


class SandboxServers:
    """The emulators (PrestaShop, e-Boekhouden REST and SOAP, VIES), seeded, on free loopback ports; a context manager."""

    def __init__(
        self,
        seed: int = 42,
        orders: int = 300,
        days_back: float = 3,
        anchor: dt.datetime | None = None,
        prestashop_key: str = DEFAULT_KEY,
        eboekhouden_token: str = DEFAULT_TOKEN,
        faults: FaultConfig | Mapping[str, FaultConfig] | None = None,
        *,
        host: str = "127.0.0.1",
        prestashop_port: int = 0,
        eboekhouden_port: int = 0,
        live_orders_per_hour: float = 0,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        eboekhouden_soap_port: int = 0,
        soap_username: str = DEFAULT_SOAP_USERNAME,
        soap_security_code_1: str = DEFAULT_SOAP_SECURITY_CODE_1,
        soap_security_code_2: str = DEFAULT_SOAP_SECURITY_CODE_2,
        vies_port: int = 0,
    ) -> None:
        self.anchor = dt.datetime.strptime(shop_time(anchor, shop_now()), "%Y-%m-%d %H:%M:%S")
        self.shop = ShopState(prestashop_key)
        self.seeder, self.seed_report = seed_shop(self.shop, seed, orders, days_back, self.anchor)
        self.books = BooksState(
            eboekhouden_token,
            token_lifetime,
            soap_username=soap_username,
            soap_security_code_1=soap_security_code_1,
            soap_security_code_2=soap_security_code_2,
        )
        seed_books(self.books, self.seed_report.known_customers, today=self.anchor.date())
        configs = _fault_configs(faults)
        self.prestashop_faults = FaultInjector(configs["prestashop"])
        self.eboekhouden_faults = FaultInjector(configs["eboekhouden"])
        self.eboekhouden_soap_faults = FaultInjector(configs["eboekhouden_soap"])
        self.prestashop_app = create_prestashop_app(self.shop, self.prestashop_faults)
        self.eboekhouden_app = create_eboekhouden_app(self.books, self.eboekhouden_faults)
        self.eboekhouden_soap_app = create_soap_app(self.books, self.eboekhouden_soap_faults)
        self.vies = ViesState(lookup=shop_lookup(self.shop))  # the shop's companies are registered in VIES
        self.vies_faults = FaultInjector(configs["vies"])
        self.vies_app = create_vies_app(self.vies, self.vies_faults)
        self._host = host
        self._ports = {"prestashop": prestashop_port, "eboekhouden": eboekhouden_port, "eboekhouden_soap": eboekhouden_soap_port, "vies": vies_port}
        self._servers: dict[str, ServerThread] = {}
        self._live = LiveOrders(self.seeder, live_orders_per_hour)

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SandboxServers:
        """Start the servers (and the live order feed) and wait until they answer."""
        apps = {"prestashop": self.prestashop_app, "eboekhouden": self.eboekhouden_app, "eboekhouden_soap": self.eboekhouden_soap_app, "vies": self.vies_app}
        try:
            for target in TARGETS:
                self._servers[target] = ServerThread(apps[target], self._host, self._ports[target], target)
                self._servers[target].start()
        except BaseException:
            self.stop()
            raise
        self._live.start()
        return self

    def stop(self) -> None:
        """Stop the live feed and the servers (requests sleeping in a timeout fault are woken)."""
        self._live.stop()
        for injector in (self.prestashop_faults, self.eboekhouden_faults, self.eboekhouden_soap_faults, self.vies_faults):
            injector.release()
        self.vies.release()
        for server in self._servers.values():
            server.request_stop()
        for server in self._servers.values():
            server.join()
        self._servers.clear()

    def __enter__(self) -> SandboxServers:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    # ---- addresses -----------------------------------------------------------------------------

    def _url(self, target: str) -> str:
        """A running server's base URL."""
        if target not in self._servers:
            raise RuntimeError("the sandbox servers are not running (use start() or a with block)")
        return self._servers[target].url

    @property
    def prestashop_url(self) -> str:
        """Base URL of the PrestaShop emulator (the webservice is under /api/)."""
        return self._url("prestashop")

    @property
    def eboekhouden_url(self) -> str:
        """Base URL of the e-Boekhouden emulator (the API is under /v1/)."""
        return self._url("eboekhouden")

    @property
    def eboekhouden_soap_url(self) -> str:
        """Base URL of the e-Boekhouden SOAP emulator (the service is /soap.asmx, its WSDL /soap.asmx?wsdl)."""
        return self._url("eboekhouden_soap")

    @property
    def vies_url(self) -> str:
        """Base URL of the VIES emulator (the service is /taxation_customs/vies/services/checkVatService; the hook
        adds that path to a connection host without one)."""
        return self._url("vies")

    def urls(self) -> dict[str, str]:
        """The base URLs by emulator name."""
        return {target: self._url(target) for target in TARGETS}

    def write_ports_file(self, path: str | Path) -> None:
        """Write the base URLs as JSON (for scripts that start the sandbox on free ports)."""
        target = Path(path)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(self.urls()))
        temporary.replace(target)

    # ---- faults --------------------------------------------------------------------------------

    def faults(self, target: str) -> FaultInjector:
        """The fault injector of 'prestashop', 'eboekhouden', 'eboekhouden_soap' or 'vies'."""
        injectors = {
            "prestashop": self.prestashop_faults,
            "eboekhouden": self.eboekhouden_faults,
            "eboekhouden_soap": self.eboekhouden_soap_faults,
            "vies": self.vies_faults,
        }
        if target not in injectors:
            raise ValueError(f"unknown target {target!r}; use {TARGETS}")
        return injectors[target]

    def set_faults(self, target: str, config: FaultConfig | None = None, **fields: Any) -> None:
        """Replace an emulator's fault configuration (a FaultConfig or its fields)."""
        self.faults(target).configure(config, **fields)

    def add_fault_rule(self, target: str, rule: FaultRule | dict[str, Any] | None = None, **fields: Any) -> FaultRule:
        """Append a scripted fault rule to an emulator."""
        return self.faults(target).add_rule(rule, **fields)

    def clear_faults(self) -> None:
        """No faults on any emulator (VIES's own knobs included)."""
        for target in TARGETS:
            self.faults(target).clear()
        self.vies.heal()
