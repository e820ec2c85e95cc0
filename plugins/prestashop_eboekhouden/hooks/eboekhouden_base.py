"""What the e-Boekhouden REST hook and the legacy SOAP hook share.

Credentials come from the Airflow connection; a refusal of them names the connection and where in
e-Boekhouden to find new ones; one session per hook, opened on first use, renewed once when the API says it
expired (and, for SOAP, by age), and revoked best effort by :meth:`EBoekhoudenBase.close_session`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from prestashop_eboekhouden.domain.errors import ConfigurationProblem
from prestashop_eboekhouden.hooks.base import ApiError, ApiHook

DEFAULT_SOURCE = "PSEB"


class LedgerCodes:
    """Ledger codes → ids for both backends (the tenant file names codes, writes take ids)."""

    def ledgers(self) -> dict[str, dict]:
        """Ledger code → ledger ({id, code, category}); provided by the backend."""
        raise NotImplementedError

    def ledger_ids(self, codes: set[str] | list[str]) -> dict[str, int]:
        """Ledger ids for codes; a code missing in the administration is a configuration error naming it."""
        known = self.ledgers()
        missing = sorted(set(codes) - set(known))
        if missing:
            raise ConfigurationProblem(f"Ledger {', '.join(missing)} does not exist in e-Boekhouden (check the tenant file)")
        return {code: int(known[code]["id"]) for code in codes}


class EBoekhoudenBase(LedgerCodes, ApiHook):
    """One administration, one session: opened lazily, renewed on demand (once per request) or by age, revoked on close."""

    # The e-Boekhouden connection type's fields (both backends share it: extra "api" picks one); never HTTP headers,
    # whichever backend reads the connection (a SOAP security code must not travel to a REST host as a header).
    connection_extras = ApiHook.connection_extras | {"api", "source", "username", "security_code_1", "security_code_2", "session_max_age"}
    # what the API calls the credentials and where the bookkeeper finds new ones (subclasses)
    credentials_name = "credentials"
    credentials_help = "check the connection"

    def __init__(self, conn_id: str, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any):
        super().__init__(conn_id, **kwargs)
        self._clock = clock
        self._session_token: str | None = None
        self._opened_at = 0.0
        self._session_lock = threading.Lock()
        self._ledgers: dict[str, dict] | None = None

    # ---- provided by the API's hook ------------------------------------------------------------

    def _open_session(self) -> str:
        """Open a session with the connection's credentials; its token (registered with the masker)."""
        raise NotImplementedError

    def _revoke(self, token: str) -> None:
        """End a session on the API's side, best effort (a failure only means it expires by itself)."""

    @property
    def session_max_age(self) -> float | None:
        """Seconds after which a session is replaced before use; None: only when the API says it expired."""
        return None

    # ---- shared --------------------------------------------------------------------------------

    def _current_session(self) -> str:
        """The session token: opened on first use, replaced once it is session_max_age old."""
        aged, max_age = None, self.session_max_age
        with self._session_lock:
            if self._session_token is not None and max_age is not None and self._clock() - self._opened_at >= max_age:
                aged, self._session_token = self._session_token, None
            if self._session_token is None:
                self._session_token = self._open_session()
                self._opened_at = self._clock()
            current = self._session_token
        if aged is not None:
            self._revoke(aged)
        return current

    def _forget_session(self, token: str | None = None) -> None:
        """Drop the session (only if it is still ``token``, when given) so the next request opens a new one."""
        with self._session_lock:
            if token is None or self._session_token == token:
                self._session_token = None

    def close_session(self) -> None:
        """Forget the session and revoke it on the API's side; never fails the task."""
        with self._session_lock:
            token, self._session_token = self._session_token, None
        if token is not None:
            self._revoke(token)

    def _refused_credentials(self, error: ApiError) -> ApiError:
        """A refusal of the connection's credentials, in words that say which connection to fix and how."""
        return ApiError(
            error.status, error.code,
            f"e-Boekhouden refused the {self.credentials_name} of connection {self.conn_id!r} ({error.title or 'no session'}); {self.credentials_help}",
            error.message, error.url, error.meaning,
        )  # fmt: skip
