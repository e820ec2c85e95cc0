"""``python -m sandbox``: run the emulators until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from sandbox.books import DEFAULT_SOAP_SECURITY_CODE_1, DEFAULT_SOAP_SECURITY_CODE_2, DEFAULT_SOAP_USERNAME, DEFAULT_TOKEN
from sandbox.faults import FaultConfig
from sandbox.servers import SandboxServers
from sandbox.shop import DEFAULT_KEY


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Run the PrestaShop webservice, e-Boekhouden REST and SOAP and VIES emulators, seeded."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default %(default)s)")
    parser.add_argument(
        "--prestashop-port", type=int, default=8081, help="PrestaShop emulator port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--eboekhouden-port", type=int, default=8082, help="e-Boekhouden emulator port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--eboekhouden-soap-port",
        type=int,
        default=8083,
        help="e-Boekhouden legacy SOAP emulator port (same administration); 0 picks a free one (default %(default)s)",
    )
    parser.add_argument(
        "--vies-port", type=int, default=8084, help="VIES checkVatService emulator port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed of the generated data (default %(default)s)")
    parser.add_argument("--orders", type=int, default=300, help="number of seeded orders (default %(default)s)")
    parser.add_argument(
        "--days-back",
        type=float,
        default=3,
        help="spread the orders over the last N days up to now, Europe/Amsterdam (default %(default)s)",
    )
    parser.add_argument(
        "--live-orders-per-hour", type=float, default=0, help="add new orders with current dates at this rate (default %(default)s)"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="latency added to every API request (default %(default)s)")
    parser.add_argument("--fault-rate-429", type=float, default=0, help="share of API requests answered 429 with Retry-After")
    parser.add_argument("--fault-rate-500", type=float, default=0, help="share of API requests answered 500")
    parser.add_argument("--fault-rate-timeout", type=float, default=0, help="share of API requests that wait --fault-timeout-seconds first")
    parser.add_argument("--fault-timeout-seconds", type=float, default=30, help="how long a timeout fault waits (default %(default)s)")
    parser.add_argument("--prestashop-key", default=DEFAULT_KEY, help="the webservice key (default %(default)s)")
    parser.add_argument("--eboekhouden-token", default=DEFAULT_TOKEN, help="the API access token (default %(default)s)")
    parser.add_argument("--soap-username", default=DEFAULT_SOAP_USERNAME, help="SOAP API username (default %(default)s)")
    parser.add_argument("--soap-security-code-1", default=DEFAULT_SOAP_SECURITY_CODE_1, help="SOAP security code 1 (default %(default)s)")
    parser.add_argument("--soap-security-code-2", default=DEFAULT_SOAP_SECURITY_CODE_2, help="SOAP security code 2 (default %(default)s)")
    parser.add_argument(
        "--token-lifetime", type=float, default=3600, help="e-Boekhouden session lifetime in seconds, REST and SOAP (default %(default)s)"
    )
    parser.add_argument("--ports-file", help="once the servers listen, write their base URLs as JSON to this file")
    parser.add_argument("--anchor", help="the shop's 'now' for the seed, 'YYYY-MM-DD HH:MM:SS' shop time (default: now)")
    return parser.parse_args(argv)


def fault_config(args: argparse.Namespace) -> FaultConfig:
    """The fault configuration every emulator starts with."""
    return FaultConfig(
        latency_ms=args.latency_ms,
        rate_429=args.fault_rate_429,
        rate_500=args.fault_rate_500,
        rate_timeout=args.fault_rate_timeout,
        timeout_seconds=args.fault_timeout_seconds,
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start the sandbox, print where it listens, and serve until stopped."""
    args = parse_args(argv)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        """Signal handler: finish."""
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sandbox = SandboxServers(
        seed=args.seed,
        orders=args.orders,
        days_back=args.days_back,
        anchor=dt.datetime.strptime(args.anchor, "%Y-%m-%d %H:%M:%S") if args.anchor else None,
        prestashop_key=args.prestashop_key,
        eboekhouden_token=args.eboekhouden_token,
        faults=fault_config(args),
        host=args.host,
        prestashop_port=args.prestashop_port,
        eboekhouden_port=args.eboekhouden_port,
        live_orders_per_hour=args.live_orders_per_hour,
        token_lifetime=args.token_lifetime,
        eboekhouden_soap_port=args.eboekhouden_soap_port,
        soap_username=args.soap_username,
        soap_security_code_1=args.soap_security_code_1,
        soap_security_code_2=args.soap_security_code_2,
        vies_port=args.vies_port,
    )
    with sandbox:
        if args.ports_file:
            sandbox.write_ports_file(args.ports_file)
        print(f"PrestaShop webservice: {sandbox.prestashop_url}/api/  (key {args.prestashop_key})", flush=True)
        print(f"e-Boekhouden REST API: {sandbox.eboekhouden_url}/v1/  (API token {args.eboekhouden_token})", flush=True)
        print(
            f"e-Boekhouden SOAP API: {sandbox.eboekhouden_soap_url}/soap.asmx  (WSDL ?wsdl; username {args.soap_username},"
            f" security codes {args.soap_security_code_1} / {args.soap_security_code_2})",
            flush=True,
        )
        print(f"VIES checkVatService:  {sandbox.vies_url}/taxation_customs/vies/services/checkVatService  (WSDL ?wsdl)", flush=True)
        print(f"{len(sandbox.shop.items('orders'))} orders seeded; Ctrl-C stops.", flush=True)
        while not stopping.wait(0.5):
            pass
    print("Sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
