"""Reasons an order cannot be booked, in words a bookkeeper reads."""

from __future__ import annotations


class OrderProblem(Exception):
    """An order that cannot be booked as it is; `reason` is shown in the Errors tab."""

    code = "PRECHECK"

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        if code:
            self.code = code


class MalformedOrder(OrderProblem):
    """The shop sent data that does not make an order: a missing field, a non-number amount, ..."""

    code = "MALFORMED"

    def __init__(self, field: str, problem: str):
        super().__init__(f"Field {field} {problem}")
        self.field = field


class ConfigurationProblem(OrderProblem):
    """The configuration does not fit what this order needs: the tenant file lacks it (a VAT mapping, an ICP ledger),
    e-Boekhouden lacks what the tenant file names (a ledger, the invoice template), or the connection is incomplete.
    The order goes to Errors with code CONFIG; fix the configuration, then Process it again."""

    code = "CONFIG"
