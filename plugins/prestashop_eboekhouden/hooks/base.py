"""What both API hooks share: connection-driven sessions (HttpHook), retry with back-off, request counts.

Retry rules:
- reads (GET/DELETE) retry on 429 (honouring Retry-After), 5xx, timeouts, broken connections and
  answers that are not the JSON they should be;
- writes (POST/PATCH) retry only when the server certainly did not act on them (429, a connection
  that could not be made); any other failure of a write is *ambiguous* and surfaces as
  :class:`AmbiguousWrite`, so the caller first looks up whether it took effect (exactly once);
- 4xx answers are permanent: :class:`ApiError` with the API's own code and title.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_base
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

DEFAULT_TIMEOUT = (10.0, 60.0)
RETRY_AFTER_CAP = 300.0  # a Retry-After longer than five minutes is waited for five minutes
READ_METHODS = frozenset({"GET", "HEAD", "DELETE"})


class ApiError(Exception):
    """A permanent refusal (4xx): the request is wrong for this order; retrying will not help."""

    def __init__(self, status: int, code: str, title: str, message: str = "", url: str = "", meaning: str | None = None):
        self.status, self.code, self.title, self.message, self.url = status, code, title, message, url
        self.meaning = meaning  # what it means to the booking code (hooks.protocol's outcomes), set by the API's hook
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """Code and title as the bookkeeper sees them: 'MUT_109 Invalid VAT code'."""
        text = " ".join(part for part in (self.code, self.title) if part)
        if self.message and self.message not in text:
            text = f"{text}: {self.message}"
        return text or f"HTTP {self.status}"


class TransientError(Exception):
    """The API did not answer usefully (429/5xx/timeout/garbage) even after the retries."""


class AmbiguousWrite(TransientError):
    """A write whose outcome is unknown: the server may have acted on it before the answer was lost."""


def redact_url(url: str) -> str:
    """A URL fit for a log line or an error: no credentials, no ws_key."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = "&".join(p for p in parts.query.split("&") if p and not p.lower().startswith("ws_key="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class _Retryable(Exception):
    """Internal: one attempt failed in a way that may be retried."""

    def __init__(self, message: str, wait: float | None = None, sent: bool = True):
        super().__init__(message)
        self.wait, self.sent = wait, sent


def request_was_sent(exc: requests.RequestException) -> bool:
    """Whether a failed request may have reached the server, judged from the exception's type.

    Not sent: the connection could not be made (refused, unknown host: urllib3's NewConnectionError /
    NameResolutionError, both ConnectTimeoutError), it timed out while connecting, or TLS failed during
    the handshake. Anything else (a reset or a read timeout after the request went out) may have been
    processed."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        reason = cause.reason if isinstance(cause, MaxRetryError) else cause
        if isinstance(reason, Urllib3ProxyError):
            reason = reason.original_error
        return not isinstance(reason, ConnectTimeoutError)
    return True


class XmlAnswers:
    """For the SOAP hooks (e-Boekhouden's legacy API, VIES): the raw answer is kept for zeep to read; one that is not
    well-formed XML (a proxy's HTML page, a cut-off body) is retried as garbage JSON is."""

    api_name: str

    def _decode(self, response: requests.Response, url: str) -> Any:
        from lxml import etree

        try:
            etree.fromstring(response.content)
        except (etree.XMLSyntaxError, ValueError):
            kind = response.headers.get("Content-Type", "unknown content")
            raise _Retryable(f"{self.api_name} answered {url} with no valid XML ({kind}, {len(response.content)} bytes)") from None
        return response


class _Backoff(wait_base):
    """tenacity wait: the server's Retry-After when it gave one, else exponential back-off with jitter."""

    def __init__(self, hook: ApiHook):
        self.hook = hook

    def __call__(self, retry_state: RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(failure, _Retryable) and failure.wait is not None:
            return failure.wait
        return self.hook._backoff(retry_state.attempt_number)


class ApiHook(HttpHook):
    """HttpHook with per-thread sessions, bounded retries with exponential back-off and request counts."""

    max_attempts = 5
    backoff_base = 0.5
    backoff_cap = 30.0
    api_name = "API"
    # Connection extras this hook reads (they configure it), never sent as HTTP headers; any other extra is a header,
    # as HttpHook has it. Each API's hook adds its own.
    connection_extras: frozenset[str] = frozenset({"timeout"})

    def __init__(self, conn_id: str, *, max_attempts: int | None = None, pool_size: int = 8, sleep: Callable[[float], None] = time.sleep):
        super().__init__(method="GET", http_conn_id=conn_id)
        self.conn_id = conn_id
        if max_attempts is not None:
            self.max_attempts = max_attempts
        self.pool_size = pool_size
        self.requests_made: Counter[tuple[str, str]] = Counter()
        self._count_lock = threading.Lock()
        self._local = threading.local()
        self._sleep = sleep
        self._timeout: Any = DEFAULT_TIMEOUT

    # ---- sessions ------------------------------------------------------------------------------

    def _configure_session_from_extra(self, session: requests.Session, connection: Any, extra_options: dict) -> requests.Session:
        session = super()._configure_session_from_extra(session, connection, extra_options)
        for key in self.connection_extras:
            session.headers.pop(key, None)
        timeout = self.merged_extra.get("timeout")
        if timeout:
            self._timeout = float(timeout)
        return session

    def session(self) -> requests.Session:
        """This thread's HTTP session (connection-pooled), built from the Airflow connection."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self.get_conn()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._configure_auth(session)
            self._local.session = session
        return session

    def _configure_auth(self, session: requests.Session) -> None:
        """Set the API's authentication on a new session (subclasses)."""

    def close(self) -> None:
        """Close this thread's session."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # ---- requests ------------------------------------------------------------------------------

    def _count(self, method: str, resource: str) -> None:
        with self._count_lock:
            self.requests_made[(method, resource)] += 1

    @staticmethod
    def resource_of(endpoint: str) -> str:
        """The resource a request counts under: the path without ids and query."""
        path = endpoint.split("?", 1)[0].strip("/")
        return "/".join(part for part in path.split("/") if not part.isdigit())

    def _backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: 0.5 s, 1 s, 2 s, ... capped."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)

    def _error_from(self, response: requests.Response, url: str) -> ApiError:
        """A 4xx answer as ApiError (subclasses read the API's error body)."""
        return ApiError(response.status_code, f"HTTP_{response.status_code}", response.reason or "", url=url)

    def _request_headers(self, headers: dict | None) -> dict | None:
        """Headers for one attempt (subclasses add authentication that may change between attempts)."""
        return headers

    def _decode(self, response: requests.Response, url: str) -> Any:
        """The JSON body with exact decimals; a non-JSON or cut-off answer is retried."""
        if not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content")
            raise _Retryable(f"{self.api_name} answered {url} with no valid JSON ({kind}, {len(response.content)} bytes)") from None

    def _attempt(
        self, method: str, endpoint: str, params: Any, body: bytes | None, headers: dict | None, resource: str | None = None
    ) -> tuple[requests.Response, Any]:
        """One request: the answer, or _Retryable / ApiError."""
        session = self.session()
        url = self.url_from_endpoint(endpoint)
        safe_url = redact_url(url if not params else requests.Request("GET", url, params=params).prepare().url or url)
        self._count(method, resource or self.resource_of(endpoint))
        try:
            response = session.request(method, url, params=params, data=body, headers=self._request_headers(headers), timeout=self._timeout)
        except requests.Timeout as exc:
            if not request_was_sent(exc):
                raise _Retryable(f"could not connect to {safe_url}: {type(exc).__name__}", sent=False) from None
            raise _Retryable(f"{self.api_name} did not answer {safe_url} in time") from None
        except requests.RequestException as exc:
            if not request_was_sent(exc):
                raise _Retryable(f"could not connect to {safe_url}: {type(exc).__name__}", sent=False) from None
            raise _Retryable(f"connection to {safe_url} failed: {type(exc).__name__}") from None
        status = response.status_code
        if status == 429:
            raise _Retryable(f"{self.api_name} is rate limiting (429) on {safe_url}", wait=_retry_after(response), sent=False)
        if status >= 500 or status in (408, 502, 503, 504):
            raise _Retryable(f"{self.api_name} answered {status} on {safe_url}")
        if status >= 400:
            raise self._error_from(response, safe_url)
        return response, self._decode(response, safe_url)

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Any = None,
        body: bytes | None = None,
        headers: dict | None = None,
        idempotent: bool | None = None,
        resource: str | None = None,
    ) -> Any:
        """Send a request with the retry rules of this module; returns the decoded answer.

        ``idempotent`` overrides the method's rule (a SOAP read is a POST); ``resource`` names what the
        request counts under (default: the endpoint's path)."""
        method = method.upper()
        is_read = method in READ_METHODS if idempotent is None else idempotent
        renewed = False

        def once() -> Any:
            nonlocal renewed
            try:
                try:
                    return self._attempt(method, endpoint, params, body, headers, resource)[1]
                except ApiError as exc:
                    # a 401 repaired by a new session is repeated at once, in the same attempt, only once
                    if exc.status == 401 and not renewed and self._on_unauthorized_error(exc):
                        renewed = True
                        return self._attempt(method, endpoint, params, body, headers, resource)[1]
                    raise
            except _Retryable as exc:
                if not (is_read or not exc.sent):  # a write is repeated only when it certainly was not sent
                    raise AmbiguousWrite(f"{exc} (the {method} may or may not have been processed)") from None
                raise

        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),  # ApiError, AmbiguousWrite, SessionFault... pass through
            stop=self._stop,
            wait=_Backoff(self),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            retry_error_callback=self._give_up,
            reraise=True,
        )
        return retrying(once)

    def _stop(self, retry_state: RetryCallState) -> bool:
        return retry_state.attempt_number >= self.max_attempts

    def _log_retry(self, retry_state: RetryCallState) -> None:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        self.log.warning("%s; retry %d of %d", failure, retry_state.attempt_number, self.max_attempts - 1)

    @staticmethod
    def _give_up(retry_state: RetryCallState) -> Any:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        raise TransientError(f"{failure}; gave up after {retry_state.attempt_number} attempts") from None

    def _on_unauthorized_error(self, error: ApiError) -> bool:
        """Whether a 401 was repaired (session renewed) so the request may be repeated."""
        return False


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a Retry-After header (capped at RETRY_AFTER_CAP)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(RETRY_AFTER_CAP, max(0.0, float(value)))
    except ValueError:
        return None
