"""OpenLineage for the extract and booking tasks, through ``apache-airflow-providers-openlineage``'s operator methods.

The provider's listener (active only when the deployment configures an OpenLineage transport) asks each finished
task for ``get_openlineage_facets_on_complete`` / ``_on_failure``. The operators answer from a small note their
``execute`` left (:meth:`LineageMixin.note_lineage`: the hooks' base URLs and the counts), so lineage costs no
request, no import and no work unless the provider asks; with OpenLineage off (no transport: the provider's plugin
then registers no listener) nothing here runs, and without the provider installed the methods are never called.

Datasets (a PrestaShop webservice resource, an e-Boekhouden administration's sales, relations or payments):

| task | inputs | outputs |
|---|---|---|
| extract_orders, recheck_open_orders, validate_orders | ``prestashop://<shop host>`` ``[<path>/]orders`` | |
| book_orders | the shop's ``orders`` | ``eboekhouden://<API host>`` ``<connection id>/sales``, ``…/relations`` |
| book_credits | the shop's ``order_slip`` | the administration's ``sales`` (credit sales), ``relations`` |
| extract_payments | the shop's ``order_payments`` | |
| book_payments | the shop's ``order_payments`` | the administration's ``payments`` |

Each dataset carries the standard statistics facet (``inputStatistics`` / ``outputStatistics``: ``rowCount``); the
run carries a ``bookkeeping`` facet with the task's counts (booked, adopted, refused, …).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import attrs

FACET_SCHEMA = "x-bookkeeping://openlineage/BookkeepingRunFacet/1-0-0"  # documented in the README; not fetched by consumers


def system(kind: str, base_url: str, conn_id: str) -> tuple[str, str]:
    """(namespace, name prefix) of an API: ``prestashop://shop.example`` and the path the shop lives under, if any."""
    parts = urlsplit(base_url if "://" in base_url else f"https://{base_url}") if base_url else None
    authority = parts.netloc if parts and parts.netloc else conn_id
    path = parts.path.strip("/") if parts else ""
    return f"{kind}://{authority}", path


def _endpoint(api: Any) -> tuple[str, str] | None:
    """(base URL, connection id) of a hook that has made its requests, or of a connection id alone (its URL is
    then looked up only if lineage is asked for)."""
    if api is None:
        return None
    if isinstance(api, str):
        return "", api
    return getattr(api, "base_url", "") or "", getattr(api, "conn_id", "") or ""


def base_url_of(conn_id: str) -> str:
    """A connection's base URL, built the way HttpHook builds it (a host with a scheme is used as is)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    host = conn.host or ""
    base = host if "://" in host else f"{conn.schema or 'http'}://{host}"
    return f"{base}:{conn.port}" if conn.port and "://" not in host else base


class LineageMixin:
    """The OpenLineage methods of an operator, answered from the note its ``execute`` left."""

    _lineage: dict[str, Any] | None = None

    def note_lineage(self, *, shop: Any = None, eb: Any = None, inputs: dict[str, int] | None = None, outputs: dict[str, int] | None = None,
                     counts: dict[str, Any] | None = None) -> None:
        """Remember what this run of the task read and wrote: each API as its hook (or connection id) and the counts.
        A few strings and numbers; nothing is looked up or imported here."""
        self._lineage = {"shop": _endpoint(shop), "eb": _endpoint(eb), "inputs": dict(inputs or {}), "outputs": dict(outputs or {}), "counts": dict(counts or {})}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs and outputs of the finished task, with counts (called by the OpenLineage provider)."""
        return operator_lineage(getattr(self, "tenant", ""), getattr(self, "task_id", ""), self._lineage)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """The same for a failed try: what it had read and written when it failed (counts may be missing)."""
        return operator_lineage(getattr(self, "tenant", ""), getattr(self, "task_id", ""), self._lineage)


def run_facet_class() -> type:
    """The ``bookkeeping`` run facet (made on first use: the OpenLineage client is imported only when lineage is on)."""
    global _RUN_FACET
    if _RUN_FACET is None:
        from openlineage.client.facet_v2 import RunFacet

        @attrs.define
        class BookkeepingRunFacet(RunFacet):
            """The task's counts (booked, adopted, refused, skipped, pending, relations_created, seen, …)."""

            tenant: str = attrs.field(default="")
            task: str = attrs.field(default="")
            counts: dict[str, Any] = attrs.field(factory=dict)
            _additional_skip_redact = ["tenant", "task", "counts"]

            @staticmethod
            def _get_schema() -> str:
                return FACET_SCHEMA

        _RUN_FACET = BookkeepingRunFacet
    return _RUN_FACET


_RUN_FACET: type | None = None


def operator_lineage(tenant: str, task_id: str, note: dict[str, Any] | None) -> Any:
    """The OperatorLineage of a task from its note (empty when the task left none, e.g. it failed before reading)."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import input_statistics_input_dataset, output_statistics_output_dataset

    if not note:
        return OperatorLineage()
    for side in ("shop", "eb"):  # a task that did not call the API itself (book_orders reads the store): its connection
        if note.get(side) and not note[side][0]:
            note[side] = (base_url_of(note[side][1]), note[side][1])
    inputs, outputs = [], []
    if note.get("shop"):
        namespace, path = system("prestashop", *note["shop"])
        for resource, count in note["inputs"].items():
            facets: dict[str, Any] = {"inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet(rowCount=int(count))}
            inputs.append(InputDataset(namespace=namespace, name=f"{path}/{resource}" if path else resource, inputFacets=facets))
    if note.get("eb"):
        namespace, _ = system("eboekhouden", *note["eb"])
        conn_id = note["eb"][1]
        for what, count in note["outputs"].items():
            out_facets: dict[str, Any] = {"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=int(count))}
            outputs.append(OutputDataset(namespace=namespace, name=f"{conn_id}/{what}", outputFacets=out_facets))
    run_facets = {"bookkeeping": run_facet_class()(tenant=tenant, task=task_id, counts=note.get("counts") or {})}
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)
