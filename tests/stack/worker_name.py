"""[core] hostname_callable of the stack's Celery workers: each records its own name on the task instances
it runs (both workers share this machine's host name)."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("STACK_WORKER_NAME") or socket.getfqdn()
