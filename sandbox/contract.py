"""The official e-Boekhouden contract (plugins/prestashop_eboekhouden/contract/eboekhouden.py), for the emulator.

The emulator and the hook obey one contract; the sandbox runs without ``plugins/`` on the path too
(``python -m sandbox``), so the folder is added when the package is not importable.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

try:
    from prestashop_eboekhouden.contract import eboekhouden as contract
except ImportError:  # pragma: no cover - depends on how the sandbox was started
    sys.path.append(str(Path(__file__).resolve().parents[1] / "plugins"))
    from prestashop_eboekhouden.contract import eboekhouden as contract

ERROR_CODES = contract.ERROR_CODES
SOURCE_PATTERN = contract.SOURCE_PATTERN
check_request = contract.check_request
check_answer = contract.check_answer
too_long = contract.too_long


# Every check made in this process (all emulators): what the test session reports at its end.
TOTALS: Counter[str] = Counter()
_TOTALS_LOCK = threading.Lock()


def tally(kind: str, count: int = 1) -> None:
    """Add to this process's totals (requests / answers validated, violations)."""
    with _TOTALS_LOCK:
        TOTALS[kind] += count


class ContractLog:
    """What one emulator checked against the contract, and what did not conform."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.answers = 0
        self.request_violations: list[str] = []
        self.answer_violations: list[str] = []

    def check(self, method: str, path: str, query: str, body: bytes, status: int, answer: bytes) -> None:
        """Validate one exchange: the request as the client sent it, the answer as the emulator gave it."""
        asked = check_request(method, path, query, body or None)
        answered = check_answer(method, path, status, answer)
        with self.lock:
            self.requests += 1
            self.answers += 1
            self.request_violations += asked
            self.answer_violations += answered
        tally("emulator requests validated")
        tally("emulator answers validated")
        if asked:
            tally("request violations", len(asked))
        if answered:
            tally("answer violations", len(answered))

    def as_json(self) -> dict[str, Any]:
        """Counts and violations."""
        with self.lock:
            return {
                "requests": self.requests, "answers": self.answers,
                "request_violations": list(self.request_violations), "answer_violations": list(self.answer_violations),
            }  # fmt: skip

    def reset(self) -> None:
        """Forget what was checked."""
        with self.lock:
            self.requests = self.answers = 0
            self.request_violations, self.answer_violations = [], []


class ContractCheck:
    """ASGI middleware: every /v1 request and the emulator's own answer to it, checked against the contract."""

    def __init__(self, app: Any, log: ContractLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        chunks = []
        disconnected = False
        while True:  # the whole body first: a route may refuse the request before reading it
            message = await receive()
            if message["type"] != "http.request":
                disconnected = True  # the client went away mid-request (a killed worker): nothing to judge
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status, answer = 0, []

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        if disconnected:
            return
        query = scope.get("query_string", b"").decode("latin-1")
        self.log.check(scope["method"], scope["path"], query, body, status, b"".join(answer))
