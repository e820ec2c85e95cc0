"""One process asking VIES about VAT numbers through the state store, as a validate task of some tenant does.

    python -m tests.reliability.vies_worker OWNER NUMBER[,NUMBER...]

Env: PRESTA_EB_STATE_DB (the shared store), AIRFLOW_CONN_VIES_DEFAULT (the emulator), WORKER_START_AT (a
time.time() to wait for, so that the processes ask at the same moment). Prints {number: [valid, fault]} as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(owner: str, numbers: list[str]) -> None:
    from prestashop_eboekhouden.domain.vies import ViesSettings
    from prestashop_eboekhouden.hooks.vies import ViesHook
    from prestashop_eboekhouden.pipeline.vies import ViesChecker
    from prestashop_eboekhouden.store import get_store

    store = get_store()
    hook = ViesHook()
    hook.service_url()  # read the connection before the start line
    time.sleep(max(0.0, float(os.environ.get("WORKER_START_AT", "0")) - time.time()))
    found = ViesChecker(store, ViesSettings(), owner, budget_seconds=60, hook=hook).lookup(numbers)
    print(json.dumps({n: [f.record.valid if f.record else None, f.fault] for n, f in found.items()}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","))
