"""The inputs a user gives the integration, each defined once (pydantic): the hourly DAG's params (its trigger form's
JSON schema is generated from here), the operator that reads them, and the dashboard's Process and run requests all
check them with these. Pure: no Airflow, no web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

if TYPE_CHECKING:
    import pendulum

MAX_ORDER_ID = 2**63 - 1  # the state store's BIGINT: a larger number is no order id
MAX_ORDER_IDS = 1000  # order ids per reprocess (a run's param, one Process)

OrderId = Annotated[int, Field(ge=1, le=MAX_ORDER_ID)]
OrderIds = Annotated[list[OrderId], Field(max_length=MAX_ORDER_IDS)]
_ORDER_IDS = TypeAdapter(OrderIds)


class InputError(ValueError):
    """An input that cannot be used; the message says which and why, in the user's words."""


def order_ids_schema() -> dict[str, Any]:
    """The JSON schema of a list of order ids (what the trigger form and Airflow's REST API check)."""
    schema = _ORDER_IDS.json_schema()
    return {"type": "array", "items": schema["items"], "maxItems": schema["maxItems"], "title": "Order ids"}


def order_ids(value: Any, name: str = "order_ids") -> list[int]:
    """A list of order ids — a JSON list, or text such as "1041, 1042" — checked and without repeats; InputError."""
    if value in (None, "", []):
        return []
    items = value.replace(";", ",").split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise InputError(f"{name} must be a list of order ids such as [1041, 1042], not {str(value)[:60]!r}")
    try:
        ids = [int(str(item).strip()) for item in items if str(item).strip()]
    except ValueError:
        raise InputError(f"{name} must hold whole numbers (order ids), not {str(value)[:60]!r}") from None
    try:
        checked = _ORDER_IDS.validate_python(ids)
    except ValidationError as exc:
        if any(error["type"] == "too_long" for error in exc.errors()):
            raise InputError(f"{name} may hold at most {MAX_ORDER_IDS} order ids, not {len(ids)}") from None
        raise InputError(f"{name} must hold positive order ids (at most {MAX_ORDER_ID}), not {str(value)[:60]!r}") from None
    return list(dict.fromkeys(checked))


# ---- the window of a run: since / until -----------------------------------------------------------------------------

# What the hourly DAG's since/until accept: a date and a time (seconds, fraction and offset optional), "T" or a space
# between them. Without an offset a time is read in the tenant's time zone.
DATETIME_PATTERN = r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}:?[0-9]{2})?\s*$"


def moment(value: Any, tz: str, name: str) -> pendulum.DateTime:
    """A since/until value as a time (pendulum): text read in the tenant's time zone unless it has an offset; InputError."""
    import re

    import pendulum
    import pendulum.parsing.exceptions

    wrong = f"{name} must be a date and time such as 2026-11-20 10:00 ({tz} unless an offset is given), not {str(value)[:60]!r}"
    if isinstance(value, str) and not re.match(DATETIME_PATTERN, value):
        raise InputError(wrong)
    try:
        parsed = pendulum.parse(value.strip(), tz=tz) if isinstance(value, str) else pendulum.instance(value)
    except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError):
        raise InputError(wrong) from None
    if not isinstance(parsed, pendulum.DateTime):  # a bare time or a duration
        raise InputError(wrong)
    return parsed
