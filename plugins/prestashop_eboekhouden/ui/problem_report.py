""""Report problem" on a row in Errors: a bundle that lets someone who cannot see the shop or the administration
reproduce the refusal — downloaded as JSON, or mailed to the tenant's support address (``support`` in the tenant file).

What is in it: the item as the dashboard shows it (reason, code, attempts, hint), the order (or slip, or payment) as
the shop gives it now, its stored plan, e-Boekhouden's answer as the store kept it, the tenant file as loaded (it holds
no secrets) and the versions.

What is never in it:
- **secrets**: every value of the tenant's connections that could be one (password, login, and every extra such as
  the SOAP security codes or a token) is replaced by ``***`` wherever it occurs, also inside a URL or a message; keys
  whose names look secret are masked by Airflow's own masker too; a URL's user and password are dropped;
- **personal data the bundle does not need**: the customer's name, e-mail address, phone numbers and street address
  (the country, company and VAT number stay: they decide how an order is booked).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
from collections.abc import Iterable
from decimal import Decimal
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import HTTPException

from prestashop_eboekhouden.config import TenantConfig
from prestashop_eboekhouden.store import StateStore

REDACTED = "‹removed›"
MASK = "***"
PERSONAL = frozenset({
    "firstname", "lastname", "email", "phone", "phone_mobile", "address1", "address2", "postcode", "city", "birthday",
    "passwd", "secure_key", "last_passwd_gen", "reset_password_token", "ip_registration_newsletter", "note", "dni", "other",
})  # fmt: skip
SECRET_KEYS = re.compile(r"(pass|secret|token|key|code|auth|credential|login|username|ws_key)", re.IGNORECASE)
KINDS = ("order", "credit", "payment")


def versions() -> dict[str, str]:
    """The versions that matter for a support request."""
    found = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    for name in ("airflow-provider-prestashop-eboekhouden", "apache-airflow", "apache-airflow-providers-http", "SQLAlchemy", "zeep"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def connection_secrets(conn_ids: Iterable[str]) -> tuple[set[str], dict[str, dict]]:
    """Every value of the connections that could be a secret, and what the bundle may say of each connection."""
    from airflow.sdk import BaseHook

    secrets: set[str] = set()
    described: dict[str, dict] = {}
    for conn_id in conn_ids:
        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception as exc:  # noqa: BLE001 - a missing connection is worth saying, not failing the bundle
            described[conn_id] = {"found": False, "problem": type(exc).__name__}
            continue
        extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
        secrets.update(str(v) for v in (conn.password, conn.login) if v)
        secrets.update(str(v) for k, v in extra.items() if v not in (None, "") and not isinstance(v, (dict, list, bool)) and SECRET_KEYS.search(k))
        if conn.password:
            secrets.add(str(conn.password))
        described[conn_id] = {
            "found": True, "conn_type": conn.conn_type, "host": _no_userinfo(conn.host or ""), "port": conn.port,
            "extra_keys": sorted(extra), "api": extra.get("api", "rest") if conn_id.startswith("eboekhouden") or "api" in extra else None,
        }
    return {s for s in secrets if len(s) >= 4}, described


def _no_userinfo(url: str) -> str:
    """A URL without user and password."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if parts.username or parts.password:
        return urlunsplit(parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")))
    return url


def scrub(value: Any, secrets: set[str]) -> Any:
    """The bundle with every secret value replaced (also inside longer text), personal fields removed and URLs without
    user and password."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if str(key).lower() in PERSONAL and item not in (None, "", "0"):
                out[key] = REDACTED
            elif SECRET_KEYS.search(str(key)) and isinstance(item, str) and item and str(key).lower() not in ("reference", "sales_number"):
                out[key] = MASK if item in secrets or str(key).lower() in ("password", "ws_key", "token", "api_token") else scrub(item, secrets)
            else:
                out[key] = scrub(item, secrets)
        return out
    if isinstance(value, (list, tuple)):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, str):
        text = value
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return re.sub(r"(https?://)[^/\s@]+@", r"\1", text)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _from_shop(config: TenantConfig, kind: str, row: dict) -> dict:
    """The item as the shop gives it now (the order with its lines and addresses; a slip; a payment)."""
    from prestashop_eboekhouden.hooks.prestashop import PrestaShopHook

    try:
        shop = PrestaShopHook(config.prestashop_conn_id, max_attempts=1)
        order_id = int(row["order_id"])
        found: dict[str, Any] = {"order": next(iter(shop.orders([order_id])), None), "order_details": shop.order_details([order_id])}
        customer_id = (found["order"] or {}).get("id_customer")
        if customer_id:
            found["customer"] = next(iter(shop.customers([customer_id])), None)
            found["addresses"] = shop.addresses_of_customers([customer_id])
        if kind == "credit":
            found["credit_slip"] = next(iter(shop.slips([int(row["slip_id"])])), None)
        if kind == "payment" and row.get("reference"):
            found["payments"] = shop.order_payments([row["reference"]])
        found["fetched_at"] = dt.datetime.now(dt.UTC).isoformat()
        return found
    except Exception as exc:  # noqa: BLE001 - the bundle still helps without the shop's data; it says why it has none
        return {"error": f"The shop could not be read just now: {type(exc).__name__}: {str(exc)[:300]}"}


def bundle(store: StateStore, config: TenantConfig, kind: str, key: int, shown: dict) -> dict:
    """The redacted bundle of one item in Errors (or worked off); 404 when the store has no such item."""
    if kind not in KINDS:
        raise HTTPException(422, f"kind must be one of {', '.join(KINDS)}")
    tenant = config.tenant
    stored = {"order": store.get_orders, "credit": store.get_credits, "payment": store.get_payments}[kind](tenant, [key]).get(key)
    if stored is None:
        raise HTTPException(404, f"There is no {kind} {key} of webshop {tenant!r}")
    secrets, connections = connection_secrets([config.prestashop_conn_id, config.eboekhouden_conn_id])
    data = {
        "about": "Problem report of the PrestaShop → e-Boekhouden integration (secrets and personal data removed)",
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "tenant": tenant,
        "item": {"kind": kind, **shown},
        "shop": _from_shop(config, kind, stored),
        "plan": stored.get("plan"),
        "eboekhouden_answer": {
            "error_code": stored.get("error_code"), "reason": stored.get("reason"), "attempts": stored.get("attempts"),
            "last_try": stored.get("last_try"), "eb_id": stored.get("eb_id"), "eb_number": stored.get("eb_number"),
        },
        "tenant_file": config.public_dict(),
        "connections": connections,
        "versions": versions(),
    }
    return scrub(_masked_by_airflow(data), secrets)


def _masked_by_airflow(data: dict) -> dict:
    """Airflow's own masker over the bundle (keys that look secret), where this process has one."""
    try:
        from airflow.sdk._shared.secrets_masker import redact

        masked = redact(data)
        return masked if isinstance(masked, dict) else data
    except Exception:  # noqa: BLE001 - our own scrub below still runs
        return data


def as_json(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def mail(config: TenantConfig, data: dict, user_name: str) -> dict:
    """Send the bundle to the tenant's support address (tenant file ``support``) through Airflow's SMTP connection."""
    import tempfile
    from html import escape
    from pathlib import Path

    if config.support is None:
        raise HTTPException(409, "No support address: add support.email (and smtp_conn_id) to the tenant file, or download the bundle")
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    item = data["item"]
    name = f"problem-{config.tenant}-{item['kind']}-{item.get('slip_id') or item.get('payment_id') or item.get('order_id')}.json"
    subject = f"[{config.tenant}] Problem report: {item['kind']} {item.get('slip_id') or item.get('payment_id') or item.get('order_id')} ({item.get('error_code') or 'error'})"
    body = (
        f"<p>{escape(user_name)} reports a problem with {escape(item['kind'])} {escape(str(item.get('order_id')))} of webshop "
        f"<b>{escape(config.tenant)}</b>:</p><p>{escape(str(item.get('reason') or ''))}</p><p>The bundle is attached (secrets and personal data removed).</p>"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(as_json(data), encoding="utf-8")
        try:
            with SmtpHook(smtp_conn_id=config.support.smtp_conn_id) as hook:
                hook.send_email_smtp(to=list(config.support.email), subject=subject, html_content=body, files=[str(path)], from_email=config.support.from_email)
        except Exception as exc:  # noqa: BLE001 - the page says it, the bookkeeper can still download the bundle
            raise HTTPException(502, f"The e-mail could not be sent ({type(exc).__name__}); download the bundle instead") from None
    return {"sent_to": list(config.support.email), "subject": subject, "attachment": name}
