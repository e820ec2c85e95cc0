"""Tenant file schema: one YAML file per webshop, validated with pydantic.

The field names and meanings are a contract (see DESIGN.md); fields may be added, never renamed.
Loading never raises for one bad file: :func:`load_tenants` returns the valid tenants and, apart,
an error per invalid file that names the file, the field and the reason.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

import pendulum
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

try:  # the C loader is ~10x faster; parse time matters with a thousand tenants
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _YamlLoader  # type: ignore[assignment]

TENANTS_DIR_ENV = "PRESTA_EB_TENANTS_DIR"
_REPO_TENANTS_DIR = Path(__file__).resolve().parents[2] / "include" / "tenants"  # run from this repository
VAT_OSS = "VAT_OSS"
TENANT_ID = re.compile(r"^[a-z0-9_]+$")

def rate_key(rate: Decimal | str | int) -> str:
    """Canonical text of a VAT percentage, the key of the tenant's VAT map: 21.000 → "21", 5.50 → "5.5"."""
    value = rate if isinstance(rate, Decimal) else Decimal(str(rate).strip())
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


class _Strict(BaseModel):
    """Base for tenant file sections: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class VatMapping(_Strict):
    """Where one VAT rate goes in e-Boekhouden: its VAT code and revenue ledger (plus VAT ledger for OSS)."""

    vat_code: str = Field(min_length=1)
    revenue_ledger: str = Field(min_length=1)
    vat_ledger: str | None = None

    @field_validator("revenue_ledger", "vat_ledger", mode="before")
    @classmethod
    def _ledger_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _oss_needs_vat_ledger(self) -> VatMapping:
        if self.vat_code == VAT_OSS and not self.vat_ledger:
            raise ValueError("vat_code VAT_OSS needs a vat_ledger (the balance ledger for the foreign VAT)")
        return self


def _rate_map(value: object) -> object:
    """Accept rate keys written as numbers (21, 9.0) and normalise them to the canonical text."""
    if not isinstance(value, dict):
        return value
    out = {}
    for key, mapping in value.items():
        try:
            out[rate_key(str(key))] = mapping
        except InvalidOperation:
            raise ValueError(f"VAT rate {key!r} is not a number") from None
    return out


class VatSettings(_Strict):
    """Shop VAT percentage → e-Boekhouden VAT code and ledgers, plus ICP, international and OSS."""

    rates: dict[str, VatMapping]
    icp: VatMapping | None = None
    international: VatMapping | None = None
    oss: dict[str, dict[str, VatMapping]] = Field(default_factory=dict)
    # ICP VAT numbers verified in VIES (manual section 6): required (an order VIES has not confirmed waits in Open,
    # one VIES says is not registered goes to Errors), warn (booked, with a note in the task log), off (form and
    # checksum only). A verdict is kept per VAT number: valid ones vies_valid_days, others vies_invalid_days (0: asked
    # again every run). An order VIES could not confirm for vies_max_wait_days goes to Errors. Each run spends at most
    # vies_time_budget_seconds asking VIES; what it did not get to waits for the next run.
    vies: Literal["required", "warn", "off"] = "required"
    vies_valid_days: int = Field(default=30, ge=1, le=365)
    vies_invalid_days: int = Field(default=1, ge=0, le=30)
    vies_max_wait_days: int = Field(default=3, ge=1, le=90)
    vies_time_budget_seconds: int = Field(default=60, ge=5, le=600)

    @field_validator("vies", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        """YAML 1.1 reads an unquoted off / on as a boolean: take them back as the words."""
        if value is False:
            return "off"
        if value is True:
            return "required"
        return value

    @field_validator("rates", mode="before")
    @classmethod
    def _normalise_rates(cls, value: object) -> object:
        return _rate_map(value)

    @field_validator("oss", mode="before")
    @classmethod
    def _normalise_oss(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {str(country).upper(): _rate_map(rates) for country, rates in value.items()}


class PrestaShopSettings(_Strict):
    """Where the shop is and which order states are booked."""

    connection_id: str | None = None
    shop_country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    process_statuses: list[int] = Field(min_length=1)
    page_size: int = Field(default=100, ge=1, le=1000)
    # book credit slips (refunds) as credit sales; false for a key that may not read order_slip
    credit_slips: bool = True
    # The back office (its folder's URL, https://shop.example/admin123ab): the dashboard links each order to it.
    # Or a whole URL with {order_id} in it, for a back office that wants another shape (see links.admin_order_url).
    admin_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://[^\s]+$")

    @field_validator("shop_country")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class EBoekhoudenSettings(_Strict):
    """How orders are booked in e-Boekhouden."""

    connection_id: str | None = None
    book_as: Literal["mutation", "invoice"] = "mutation"
    invoice_with_mutation: bool = False
    invoice_template: str = "Invoice template"
    debtor_ledger: str = "1300"
    payment_term_days: int = Field(default=14, ge=0, le=365)
    sales_number: Literal["reference", "invoice_number", "id"] = "reference"
    sales_number_prefix: str = Field(default="", max_length=20)
    # a credit slip's sales number: the order's + this + the slip id ("XKBKNABJK-C12"); ends in a digit, as invoices need
    credit_suffix: str = Field(default="-C", min_length=1, max_length=10, pattern=r"^[A-Za-z0-9_./-]+$")
    concurrency: int = Field(default=8, ge=1, le=32)

    @field_validator("debtor_ledger", mode="before")
    @classmethod
    def _ledger_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class PaymentSettings(_Strict):
    """Booking of payments against the outstanding item of a booked sale."""

    enabled: bool = False
    always: bool = False
    without_outstanding_item: bool = False
    ledgers: dict[str, str] = Field(default_factory=lambda: {"default": "1100"})
    # How far back booked orders wait for their payment (a bank transfer may come months later);
    # independent of recheck.months_back, which is about open orders.
    months_back: int = Field(default=12, ge=1, le=120)

    @field_validator("ledgers", mode="before")
    @classmethod
    def _ledgers_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _default_ledger(self) -> PaymentSettings:
        if self.enabled and "default" not in self.ledgers:
            raise ValueError("ledgers needs a 'default' financial ledger when payments are enabled")
        return self

    def ledger_for(self, payment_method: str) -> str:
        """Financial ledger code for a payment method, else the default ledger."""
        return self.ledgers.get(payment_method) or self.ledgers["default"]


class RecheckSettings(_Strict):
    """How far back the nightly DAG rechecks open orders."""

    months_back: int = Field(default=3, ge=1, le=24)
    max_orders: int | None = Field(default=None, ge=1)


class ProcessingSettings(_Strict):
    """How a run is cut into work: orders per booking task."""

    batch_size: int = Field(default=200, ge=1, le=5000)


NOTIFY_ON: tuple[Literal["errors", "failure", "differences"], ...] = ("errors", "failure", "differences")


class ReconcileSettings(_Strict):
    """The daily reconciliation (read only: it never books or changes anything): how much it compares in full per run."""

    enabled: bool = True  # the DAG <tenant>__reconcile_daily (07:00, yesterday); the dashboard's Reconcile tab runs it for any period
    # Every booking of the last months_back months is read in full from e-Boekhouden (its amounts and rows compared with
    # what was sent) at least once in compare_within_days days: each run reads its share, never read ones first.
    months_back: int = Field(default=3, ge=1, le=24)
    compare_within_days: int = Field(default=30, ge=1, le=366)
    max_full_reads: int = Field(default=5000, ge=0, le=100_000)  # e-Boekhouden reads of single bookings per run, at most
    max_shop_reads: int = Field(default=1000, ge=0, le=100_000)  # orders read in full from the shop per run (changed, never seen)


class NotifySettings(_Strict):
    """Who hears about new Errors and failed runs (e-mail through Airflow's SMTP notifier)."""

    email: list[str] = Field(min_length=1)
    on: list[Literal["errors", "failure", "differences"]] = Field(default_factory=lambda: list(NOTIFY_ON))  # differences: the reconciliation's new ones
    digest: Literal["per_run", "daily"] = "per_run"  # daily: one e-mail a day (after the nightly run) instead of one per run
    smtp_conn_id: str = "smtp_default"
    from_email: str | None = None
    dashboard_url: str | None = None  # base of the links in the e-mail; default Airflow's [api] base_url

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, value: object) -> object:
        """YAML 1.1 reads the key `on` as the boolean true: take it back as the field `on`."""
        if isinstance(value, dict) and True in value:
            value = {("on" if key is True else key): item for key, item in value.items()}
        return value

    @field_validator("email")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+", address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class DeadlineSettings(_Strict):
    """When a run that has not finished is worth an e-mail (Airflow deadline alerts; to notify.email, so only with a
    notify section). Each one off with null."""

    enabled: bool = True
    # An hourly run not finished this many minutes after the end of its hour (or after it was queued, if later).
    hourly_minutes: float | None = Field(default=45, gt=0, le=24 * 60)
    # The nightly recheck (02:00) not finished by this time of day, tenant time (the first such time after 02:00).
    nightly_by: str | None = Field(default="06:00", pattern=CLOCK)
    # The daily payments run (06:00) not finished by this time of day, tenant time.
    payments_by: str | None = Field(default="09:00", pattern=CLOCK)

    @field_validator("nightly_by", "payments_by", mode="before")
    @classmethod
    def _clock_as_text(cls, value: object) -> object:
        """YAML 1.1 reads an unquoted 06:00 as the number 360 (sexagesimal): take it back as the time of day."""
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return value


class TenantConfig(_Strict):
    """One webshop: the whole tenant file."""

    tenant: str
    timezone: str = "Europe/Amsterdam"
    start_date: dt.date
    prestashop: PrestaShopSettings
    eboekhouden: EBoekhoudenSettings = Field(default_factory=EBoekhoudenSettings)
    vat: VatSettings
    fixed_debtors: dict[str, str] = Field(default_factory=dict)
    payments: PaymentSettings = Field(default_factory=PaymentSettings)
    recheck: RecheckSettings = Field(default_factory=RecheckSettings)
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    notify: NotifySettings | None = None
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    deadlines: DeadlineSettings = Field(default_factory=DeadlineSettings)

    @field_validator("tenant")
    @classmethod
    def _tenant_id(cls, value: str) -> str:
        if not TENANT_ID.match(value):
            raise ValueError("must be lower-case letters, digits and _ only (it is used in DAG ids)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            pendulum.timezone(value)
        except Exception:  # noqa: BLE001 - pendulum raises ValueError, OSError, … depending on the name
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _deadlines_need_notify(self) -> TenantConfig:
        # a section that asks for alerts without an address to send them to (the defaults, as a dump of the config
        # writes them, are not a request)
        if self.notify is None and self.deadlines.enabled and self.deadlines != DeadlineSettings():
            raise ValueError("deadlines: a deadline alert is an e-mail to notify.email: add a notify section (or deadlines: {enabled: false})")
        return self

    def configured_rates(self) -> frozenset[Decimal]:
        """Every VAT percentage the tenant file maps (domestic and OSS)."""
        keys = {*self.vat.rates, *(key for rates in self.vat.oss.values() for key in rates)}
        return frozenset(Decimal(key) for key in keys)

    @property
    def prestashop_conn_id(self) -> str:
        """Airflow connection id of the shop."""
        return self.prestashop.connection_id or f"prestashop_{self.tenant}"

    @property
    def eboekhouden_conn_id(self) -> str:
        """Airflow connection id of the administration."""
        return self.eboekhouden.connection_id or f"eboekhouden_{self.tenant}"

    @property
    def pool(self) -> str:
        """Airflow pool that caps concurrent e-Boekhouden work for this tenant."""
        return f"eboekhouden_{self.tenant}"

    @property
    def tz(self) -> pendulum.Timezone:
        """The tenant's time zone."""
        return pendulum.timezone(self.timezone)

    def public_dict(self) -> dict:
        """The effective configuration as plain data (it holds no secrets: those live in Connections)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class TenantFileProblem:
    """What is wrong with a tenant file: which file, which fields, why."""

    path: Path
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"Invalid tenant file {self.path}: " + "; ".join(self.problems)


@dataclass(frozen=True)
class LoadedTenants:
    """The valid tenants of a folder, and the files that were rejected."""

    tenants: tuple[TenantConfig, ...]
    errors: tuple[TenantFileProblem, ...]


def tenants_dir() -> Path:
    """The tenant folder: env PRESTA_EB_TENANTS_DIR, else include/tenants in this repository, else (the
    package installed with pip) include/tenants in the Airflow home (as in Astronomer projects)."""
    if configured := os.environ.get(TENANTS_DIR_ENV):
        return Path(configured)
    if _REPO_TENANTS_DIR.is_dir():
        return _REPO_TENANTS_DIR
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "include" / "tenants"


def _describe(error: ValidationError) -> tuple[str, ...]:
    """pydantic's errors as 'field.path: reason' lines."""
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(file)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return tuple(lines)


def parse_tenant(data: object, path: Path) -> TenantConfig:
    """Validate one tenant file's data; raise InvalidTenantFile naming the file and fields."""
    if not isinstance(data, dict):
        raise InvalidTenantFile(TenantFileProblem(path, ("(file): must be a YAML mapping",)))
    try:
        return TenantConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidTenantFile(TenantFileProblem(path, _describe(exc))) from None


class InvalidTenantFile(ValueError):
    """An invalid tenant file; carries which file and fields (TenantFileProblem)."""

    def __init__(self, error: TenantFileProblem):
        super().__init__(str(error))
        self.error = error


def load_tenant_file(path: Path) -> TenantConfig:
    """Read and validate one tenant file."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise InvalidTenantFile(TenantFileProblem(path, (f"(file): not valid YAML: {exc}",))) from None
    return parse_tenant(data, path)


def load_tenants(folder: Path | None = None) -> LoadedTenants:
    """Every *.yaml tenant file of the folder; bad files are reported, never fatal for the others."""
    folder = folder or tenants_dir()
    tenants: list[TenantConfig] = []
    errors: list[TenantFileProblem] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        try:
            tenant = load_tenant_file(path)
        except InvalidTenantFile as exc:
            errors.append(exc.error)
            continue
        if tenant.tenant in seen:
            errors.append(TenantFileProblem(path, (f"tenant: {tenant.tenant!r} is already defined in {seen[tenant.tenant].name}",)))
            continue
        seen[tenant.tenant] = path
        tenants.append(tenant)
    return LoadedTenants(tuple(tenants), tuple(errors))


def get_tenant(tenant: str, folder: Path | None = None) -> TenantConfig:
    """The configuration of one tenant (at task run time); raises if its file is missing or invalid."""
    folder = folder or tenants_dir()
    named = folder / f"{tenant}.yaml"
    if named.is_file():
        config = load_tenant_file(named)
        if config.tenant == tenant:
            return config
    loaded = load_tenants(folder)
    for config in loaded.tenants:
        if config.tenant == tenant:
            return config
    for error in loaded.errors:
        if error.path.stem == tenant:
            raise InvalidTenantFile(error)
    raise LookupError(f"No tenant file for tenant {tenant!r} in {folder}")


# ---- PrestaShop connections (checked when the hook loads its connection) --------------------------

WEBSERVICE_KEY_LENGTH = 32  # PrestaShop refuses any other length (401, code 18)
PRESTASHOP_AUTH_MODES = ("basic", "query")  # how the key is sent: HTTP Basic user name, or ?ws_key= (hosts that strip Authorization)


def prestashop_connection_problems(conn_id: str, key: str | None, auth: object) -> list[str]:
    """What is wrong with a PrestaShop connection's key and extra "auth", in words that name the connection (never the key)."""
    problems = []
    if not key:
        problems.append(f"Connection {conn_id} has no PrestaShop webservice key (put it in the password field)")
    elif len(key) != WEBSERVICE_KEY_LENGTH:
        problems.append(
            f"Connection {conn_id}: the PrestaShop webservice key has {len(key)} characters, but PrestaShop's keys have exactly "
            f"{WEBSERVICE_KEY_LENGTH} (copy it again from Advanced parameters › Webservice, without spaces)"
        )
    if auth is not None and auth not in PRESTASHOP_AUTH_MODES:
        problems.append(
            f"Connection {conn_id}: extra \"auth\" is {auth!r}; use \"basic\" (the default: the key as HTTP Basic user name) or "
            "\"query\" (the key as ws_key, for hosts that strip the Authorization header)"
        )
    return problems
