"""Names of connection-extra fields that Airflow's masker must treat as secrets.

Airflow hides an extra's value in logs, the UI and ``GET /api/v2/connections`` when the key contains
one of ``[core] sensitive_var_conn_names`` or its built-in names (password, secret, token, ...). The
legacy SOAP codes are called ``security_code_1`` / ``security_code_2``: no built-in name matches, so
they are added here at runtime, by the plugin (API server, scheduler, dag-processor) and by the hooks
(task processes). Deployments that run components without the plugin should also set
``AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES=security_code``.
"""

from __future__ import annotations

SENSITIVE_NAMES = ("security_code",)


def mask(secret: str) -> None:
    """Register a secret (a key, a session token) with Airflow's log masker (no-op outside Airflow)."""
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
    except Exception:  # noqa: BLE001 - masking is best effort outside a task
        pass


def register_sensitive_names() -> None:
    """Add SENSITIVE_NAMES to every secrets masker this process has (core and task SDK); idempotent."""
    for module in ("airflow._shared.secrets_masker", "airflow.sdk._shared.secrets_masker"):
        try:
            masker = __import__(module, fromlist=["_secrets_masker"])._secrets_masker()
        except (ImportError, AttributeError):  # another Airflow layout: sensitive_var_conn_names covers it
            continue
        fields = list(getattr(masker, "sensitive_variables_fields", None) or [])
        missing = [name for name in SENSITIVE_NAMES if name not in fields]
        if missing:
            masker.sensitive_variables_fields = fields + missing
