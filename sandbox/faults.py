"""Fault injection shared by both emulators: random faults, scripted rules and the ASGI middleware that applies them.

Random faults (``FaultConfig``) fire with a probability per request, drawn from a seeded RNG; scripted
rules (``FaultRule``) fire in the order they were added, each on the requests it matches, ``times``
times after skipping the first ``after`` matches.  Actions:

- ``status``: answer ``status`` with ``body`` (default: the API's own error body; 429 adds Retry-After);
- ``html``: answer ``status`` (default 502) with a proxy's HTML error page;
- ``garbage``: answer 200 with an HTML page where JSON is expected;
- ``truncate``: process the request, answer its status with the body cut in half;
- ``timeout``: wait ``seconds`` before processing and answering;
- ``reset``: break the connection before processing;
- ``drop_after_commit``: process the request fully, then break the connection instead of answering;
- ``stall_after_commit``: process the request fully, then wait ``seconds`` before answering (a client
  killed meanwhile leaves a committed booking it never heard of).

Paths under ``/__sandbox__`` are never faulted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

ADMIN_PREFIX = "/__sandbox__"
ACTIONS = frozenset({"status", "html", "garbage", "truncate", "timeout", "reset", "drop_after_commit", "stall_after_commit"})
RANDOM_FAULTS = ("rate_429", "rate_500", "rate_502", "rate_503", "rate_timeout", "rate_truncate", "rate_garbage", "rate_reset", "rate_drop")
HTML_PAGE = (
    "<html><head><title>{status} {title}</title></head>"
    "<body><center><h1>{status} {title}</h1></center><hr><center>nginx</center></body></html>"
)
HTML_TITLES = {
    200: "Maintenance",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
SLEEP_STEP = 0.05

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ErrorBody = Callable[[int, str], Any]
RequestPath = Callable[[Scope], str]


def scope_path(scope: Scope) -> str:
    """The path a request is matched and counted under: its URL path."""
    return str(scope["path"])


def _matches(method: str | None, path: str | None, request_method: str, request_path: str) -> bool:
    """Whether a request falls under an optional method and an optional path prefix (whole segments)."""
    if method and method.upper() != request_method.upper():
        return False
    prefix = (path or "").rstrip("/")
    return not prefix or request_path == prefix or request_path.startswith(prefix + "/")


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """A dataclass from a dict whose keys must all be fields (ValueError names the unknown ones)."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} must be a JSON object")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    return cls(**data)


@dataclass(frozen=True)
class Fault:
    """One fault to apply to one request."""

    action: str
    status: int = 0
    seconds: float = 0.0
    body: Any = None
    retry_after: int | None = None


@dataclass
class FaultRule:
    """A scripted fault: fires on matching requests, ``times`` times (None: always), after skipping ``after``."""

    action: str
    method: str | None = None
    path: str | None = None
    status: int | None = None
    body: Any = None
    seconds: float | None = None
    retry_after: int | None = None
    times: int | None = 1
    after: int = 0

    def __post_init__(self) -> None:
        """Refuse rules that could never apply."""
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {', '.join(sorted(ACTIONS))}")
        if self.action == "status" and not self.status:
            raise ValueError("a 'status' rule needs a status")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or null for every request)")
        if self.after < 0:
            raise ValueError("after must not be negative")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        """A rule from its JSON form."""
        return _from_dict(cls, data)

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to a request."""
        return _matches(self.method, self.path, method, path)

    def fault(self, config: FaultConfig) -> Fault:
        """The fault this rule applies, with the configuration's defaults filled in."""
        default_status = {"html": 502, "garbage": 200}.get(self.action, 0)
        return Fault(
            action=self.action,
            status=self.status or default_status,
            seconds=self.seconds if self.seconds is not None else config.timeout_seconds,
            body=self.body,
            retry_after=self.retry_after if self.retry_after is not None else config.retry_after,
        )


@dataclass
class FaultConfig:
    """Random faults (probabilities per request), latency, and scripted rules for one emulator."""

    latency_ms: int = 0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_502: float = 0.0
    rate_503: float = 0.0
    rate_timeout: float = 0.0
    rate_truncate: float = 0.0
    rate_garbage: float = 0.0
    rate_reset: float = 0.0
    rate_drop: float = 0.0
    retry_after: int = 1
    timeout_seconds: float = 30.0
    method: str | None = None
    path: str | None = None
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Rules given as dicts become FaultRules; rates must be probabilities."""
        self.rules = [rule if isinstance(rule, FaultRule) else FaultRule.from_dict(rule) for rule in self.rules]
        rates = [getattr(self, name) for name in RANDOM_FAULTS]
        if any(rate < 0 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must be ≥ 0 and add up to at most 1")
        if self.latency_ms < 0 or self.timeout_seconds < 0 or self.retry_after < 0:
            raise ValueError("latency_ms, timeout_seconds and retry_after must not be negative")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        """A configuration from its JSON form (PUT /__sandbox__/faults)."""
        return _from_dict(cls, data)

    def random_faults(self) -> list[tuple[float, Fault]]:
        """(probability, fault) for each random fault kind."""
        seconds, wait = self.timeout_seconds, self.retry_after
        return [
            (self.rate_429, Fault("status", 429, retry_after=wait)),
            (self.rate_500, Fault("status", 500)),
            (self.rate_502, Fault("html", 502)),
            (self.rate_503, Fault("html", 503)),
            (self.rate_timeout, Fault("timeout", seconds=seconds)),
            (self.rate_truncate, Fault("truncate")),
            (self.rate_garbage, Fault("garbage", 200)),
            (self.rate_reset, Fault("reset")),
            (self.rate_drop, Fault("drop_after_commit")),
        ]


class FaultInjector:
    """The live fault state of one emulator; thread-safe, changeable while the server runs."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.injected: Counter[str] = Counter()
        self._config = FaultConfig()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(0)
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """The random-fault configuration in force (rules excluded: see :attr:`rules`)."""
        with self._lock:
            return dataclasses.replace(self._config, rules=[])

    @property
    def rules(self) -> list[FaultRule]:
        """The scripted rules still pending, in order."""
        with self._lock:
            return [dataclasses.replace(rule) for rule in self._rules]

    def configure(self, config: FaultConfig | None = None, **fields: Any) -> None:
        """Replace the whole configuration (a FaultConfig, or its fields as keywords); pending rules are replaced too."""
        new = config if config is not None else FaultConfig(**fields)
        with self._lock:
            self._config = dataclasses.replace(new, rules=[])
            self._rules = [dataclasses.replace(rule) for rule in new.rules]
            self._rng = random.Random(new.seed)

    def update(self, **fields: Any) -> None:
        """Change some settings of the configuration, keeping the others and the pending rules."""
        with self._lock:
            self._config = dataclasses.replace(self._config, **fields)

    def add_rule(self, rule: FaultRule | dict[str, Any] | None = None, **fields: Any) -> FaultRule:
        """Append a scripted rule (a FaultRule, a dict, or its fields as keywords)."""
        if rule is None:
            rule = FaultRule(**fields)
        elif isinstance(rule, dict):
            rule = FaultRule.from_dict(rule)
        with self._lock:
            self._rules.append(dataclasses.replace(rule))
        return rule

    def clear(self) -> None:
        """No latency, no random faults, no rules (the injected counts stay)."""
        self.configure(FaultConfig())

    def reset_counts(self) -> None:
        """Forget how many faults were injected."""
        with self._lock:
            self.injected.clear()

    def describe(self) -> dict[str, Any]:
        """The configuration, pending rules and injected counts as JSON."""
        with self._lock:
            config = dataclasses.asdict(dataclasses.replace(self._config, rules=[]))
            config["rules"] = [dataclasses.asdict(rule) for rule in self._rules]
            return {"config": config, "injected": dict(self.injected)}

    def decide(self, method: str, path: str) -> tuple[float, Fault | None]:
        """Latency (seconds) and the fault, if any, for one request; consumes scripted rules."""
        with self._lock:
            latency = self._config.latency_ms / 1000
            fault = self._scripted(method, path)
            if fault is None and _matches(self._config.method, self._config.path, method, path):
                fault = self._random()
            if fault is not None:
                self.injected[fault.action if fault.action != "status" else f"status_{fault.status}"] += 1
            return latency, fault

    def _scripted(self, method: str, path: str) -> Fault | None:
        """The first pending rule matching the request holds it: it skips (after) or fires."""
        for rule in self._rules:
            if not rule.matches(method, path):
                continue
            if rule.after > 0:
                rule.after -= 1
                return None
            if rule.times is not None:
                rule.times -= 1
                if rule.times == 0:
                    self._rules.remove(rule)
            return rule.fault(self._config)
        return None

    def _random(self) -> Fault | None:
        """A random fault drawn with the configured rates (one draw per request)."""
        kinds = [(rate, fault) for rate, fault in self._config.random_faults() if rate > 0]
        if not kinds:
            return None
        draw = self._rng.random()
        for rate, fault in kinds:
            if draw < rate:
                return fault
            draw -= rate
        return None

    def release(self) -> None:
        """Wake every request sleeping in a timeout fault (the server is stopping)."""
        self._released.set()

    async def sleep(self, seconds: float) -> None:
        """Sleep for a timeout fault, cut short by :meth:`release`."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while not self._released.is_set():
            left = until - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(SLEEP_STEP, left))


def default_error_body(status: int, message: str) -> dict[str, Any]:
    """A generic JSON error body for apps that do not bring their own."""
    return {"status": status, "message": message}


def html_page(status: int) -> bytes:
    """A reverse proxy's HTML error (or maintenance) page."""
    return HTML_PAGE.format(status=status, title=HTML_TITLES.get(status, "Error")).encode()


async def _respond(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a complete response."""
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _break_connection(receive: Receive) -> None:
    """Close the client's connection without an answer (uvicorn); elsewhere (TestClient) raise instead."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: connection broken on purpose")
    transport.abort()
    await asyncio.sleep(0.01)  # let the server notice the connection is gone before the app returns


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run the app to completion; its response start message and whole body."""
    start: Message = {"type": "http.response.start", "status": 500, "headers": []}
    body = bytearray()

    async def keep(message: Message) -> None:
        """Keep a message instead of sending it."""
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, keep)
    return start, bytes(body)


class FaultMiddleware:
    """ASGI middleware applying a FaultInjector's decisions; ``error_body`` shapes the API's own error JSON.

    ``request_path`` gives the path rules match (the SOAP emulator adds the operation: /soap.asmx/AddMutatie);
    with ``error_content_type`` set, error bodies given as text or bytes are sent as they are, with that type
    (a SOAP fault envelope), instead of as JSON.
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        error_body: ErrorBody = default_error_body,
        request_path: RequestPath = scope_path,
        error_content_type: str | None = None,
    ) -> None:
        self.app = app
        self.injector = injector
        self.error_body = error_body
        self.request_path = request_path
        self.error_content_type = error_content_type
        self._actions: dict[str, Callable[[Fault, Scope, Receive, Send], Awaitable[None]]] = {
            "status": self._status,
            "html": self._html,
            "garbage": self._html,
            "truncate": self._truncate,
            "timeout": self._timeout,
            "reset": self._reset,
            "drop_after_commit": self._drop_after_commit,
            "stall_after_commit": self._stall_after_commit,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or apply the fault decided for it."""
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        latency, fault = self.injector.decide(scope["method"], self.request_path(scope))
        if latency:
            await asyncio.sleep(latency)
        if fault is None:
            await self.app(scope, receive, send)
            return
        await self._actions[fault.action](fault, scope, receive, send)

    async def _status(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """An error status with a JSON body (and Retry-After on 429)."""
        body = fault.body if fault.body is not None else self.error_body(fault.status, f"Injected fault: HTTP {fault.status}")
        extra = [(b"retry-after", str(fault.retry_after).encode())] if fault.status == 429 and fault.retry_after is not None else []
        if self.error_content_type and isinstance(body, (str, bytes)):
            await _respond(send, fault.status, body.encode() if isinstance(body, str) else body, self.error_content_type, extra)
            return
        await _respond(send, fault.status, json.dumps(body).encode(), "application/json", extra)

    async def _html(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTML page: a proxy's error page, or (status 200) a page where JSON was expected."""
        await _respond(send, fault.status, html_page(fault.status), "text/html; charset=utf-8")

    async def _truncate(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """The real answer with its body cut in half (and a Content-Length that fits the cut body)."""
        start, body = await _capture(self.app, scope, receive)
        cut = body[: len(body) // 2]
        headers = [(name, value) for name, value in start.get("headers", []) if name.lower() != b"content-length"]
        await send(
            {"type": "http.response.start", "status": start["status"], "headers": [*headers, (b"content-length", str(len(cut)).encode())]}
        )
        await send({"type": "http.response.body", "body": cut})

    async def _timeout(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Wait, then process and answer normally (the client has usually given up by then)."""
        await self.injector.sleep(fault.seconds)
        await self.app(scope, receive, send)

    async def _reset(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Break the connection before the request is processed."""
        await _break_connection(receive)

    async def _drop_after_commit(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Process the request (its effects stay), then break the connection instead of answering."""
        await _capture(self.app, scope, receive)
        await _break_connection(receive)

    async def _stall_after_commit(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Process the request (its effects stay), then wait before sending the real answer."""
        start, body = await _capture(self.app, scope, receive)
        await self.injector.sleep(fault.seconds)
        await send(start)
        await send({"type": "http.response.body", "body": body})
