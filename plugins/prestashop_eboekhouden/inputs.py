"""The inputs a user gives the integration, each defined once (pydantic): the hourly DAG's params (its trigger form's
JSON schema is generated from here), the operator that reads them, and the dashboard's Process and run requests all
check them with these. Pure: no Airflow, no web framework.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

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
