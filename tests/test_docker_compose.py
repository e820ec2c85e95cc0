"""The Docker Compose stack (docker-compose.yaml, Dockerfile, .env.example, docker/), checked without Docker.

No Docker engine runs where these tests run, so the compose file is read as YAML and checked for
what makes the stack work: the services and their commands, health probes, start order, mounts,
the executor and its backends, the integration's interfaces (state store, tenant folder, pools),
secrets only as ${VAR} references documented in .env.example, the image pinned like
requirements.txt. What can run here runs for real: the shell scripts through `bash -n`, the
airflow-init steps against the repo and a throwaway Airflow DB, the Postgres init script against
a throwaway Postgres server (skipped where no Postgres server binaries are installed), and
docker/make-env.sh.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"
MAKE_ENV = REPO / "docker" / "make-env.sh"

AIRFLOW_HOME = "/opt/airflow"
COMMANDS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
LONG_RUNNING_AIRFLOW = list(COMMANDS)
AIRFLOW_SERVICES = [*LONG_RUNNING_AIRFLOW, "airflow-init"]
REQUIRED_SERVICES = {"postgres", "redis", "sandbox", *AIRFLOW_SERVICES}
# What each long-running service's health check must probe (all substrings must be in its test).
HEALTH_PROBES = {
    "postgres": ["pg_isready"],
    "redis": ["redis-cli", "ping", "PONG"],
    "airflow-apiserver": ["curl", "--fail", "http://localhost:8080/api/v2/version"],
    "airflow-scheduler": ["curl", "--fail", "http://localhost:8974/health"],
    # $$ so that the container's own HOSTNAME is used, not the host's (Compose would substitute $)
    "airflow-dag-processor": ["airflow jobs check", "--job-type DagProcessorJob", '--hostname "$${HOSTNAME}"'],
    "airflow-worker": ["celery", "inspect ping", '-d "celery@$${HOSTNAME}"'],
    "airflow-triggerer": ["airflow jobs check", "--job-type TriggererJob", '--hostname "$${HOSTNAME}"'],
    "sandbox": ["8081", "8082", "8083"],
}
# Environment names that hold secrets (paths to secret files are not secrets themselves).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_AUTH$")
REQUIRED_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}")
# scheme://user:password@host — the password either a ${...} reference or literal text
CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<password>\$\{[^}]*\}|[^@/\s]*)@")
# Keys of the Compose specification (a guard against typos such as `healthchek`).
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "volumes", "user", "depends_on",
    "healthcheck", "restart", "ports", "expose", "profiles", "logging", "working_dir", "init",
    "stop_grace_period", "stop_signal", "container_name", "hostname", "networks", "labels", "deploy",
    "secrets", "configs", "ulimits", "shm_size", "tmpfs", "extra_hosts", "read_only", "cap_add",
    "cap_drop", "security_opt", "pull_policy", "platform", "mem_limit", "cpus",
}
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
RUNTIME_CREATED = {"./logs", "./config"}  # bind-mounted folders that the first start creates


# ---- helpers ------------------------------------------------------------------------------------


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a repeated key is an error (Compose rejects it; PyYAML keeps the last)."""


def _mapping_without_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may repeat and be overridden
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def load_compose() -> dict:
    return yaml.load(COMPOSE_FILE.read_text(), Loader=StrictLoader)  # a SafeLoader subclass


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict (Compose allows a mapping or a list of NAME=value)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def as_text(value) -> str:
    """A command, entrypoint or health check test as one string."""
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(str(part) for part in value)


def health_test(service: dict) -> str:
    test = service["healthcheck"]["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), f"health check test must be CMD/CMD-SHELL: {test!r}"
    return as_text(test[1:])


def bind_mounts(service: dict) -> dict[str, tuple[str, str]]:
    """Container path → (host path, options) of the service's bind mounts (short syntax)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *options = volume.split(":")
        if source.startswith((".", "/")):
            mounts[target] = (source, options[0] if options else "rw")
    return mounts


def strings(node) -> Iterator[str]:
    """Every string in a parsed YAML document (keys too)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def referenced_variables(text: str) -> set[str]:
    """Names Compose substitutes in a string: ${NAME...} and $NAME, but not the escaped $$."""
    text = text.replace("$$", "")
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)) | set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", text))


def compose_defaults(text: str) -> str:
    """A string as Compose would pass it with no .env: ${X:-d} → d, ${X:?m} → $X, $$ → $."""
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}", r"\2", text.replace("$$", "\0"))
    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?\?[^}]*)?\}", r"$\1", text)
    return text.replace("\0", "$")


def url_of(value: str):
    """urlsplit of a URL whose parts may be ${...} references (those become $NAME)."""
    return urlsplit(compose_defaults(value))


def env_example() -> dict[str, str]:
    """The active NAME=value lines of .env.example."""
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line.strip()):
            out[match[1]] = match[2]
    return out


def env_example_connections() -> dict[str, dict]:
    """AIRFLOW_CONN_* examples of .env.example (commented or not), parsed as Compose would."""
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := re.fullmatch(r"#?\s*(AIRFLOW_CONN_[A-Z0-9_]+)='(.*)'", line.strip()):
            out[match[1]] = json.loads(match[2])
    return out


def init_script(services: dict) -> str:
    """The bash script airflow-init runs (entrypoint bash, command -c SCRIPT)."""
    init = services["airflow-init"]
    assert as_text(init["entrypoint"]) in ("/bin/bash", "bash")
    command = init["command"]
    assert command[0] == "-c" and len(command) == 2
    return command[1]


def requirement_pin(name: str) -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if match := re.fullmatch(rf"{re.escape(name)}==(\S+)", line.strip(), flags=re.IGNORECASE):
            return match[1]
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def tenant_ids() -> list[str]:
    folder = REPO / "include" / "tenants"
    return sorted(yaml.safe_load(path.read_text())["tenant"] for path in folder.glob("*.yaml"))


# ---- shape --------------------------------------------------------------------------------------


def test_strict_loader_rejects_repeated_keys_like_compose_does():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'command'"):
        yaml.load("services:\n  a:\n    command: x\n    command: y\n", Loader=StrictLoader)
    merged = yaml.load("x: &base {a: 1, b: 2}\ny:\n  <<: *base\n  b: 3\n", Loader=StrictLoader)
    assert merged["y"] == {"a": 1, "b": 3}


def test_compose_spec_file_without_version_key_and_known_keys(compose):
    assert "version" not in compose, "the Compose specification has no version key"
    unknown_top = {key for key in compose if not key.startswith("x-")} - TOP_LEVEL_KEYS
    assert not unknown_top, f"unknown top-level keys: {unknown_top}"
    for name, service in compose["services"].items():
        unknown = set(service) - SERVICE_KEYS
        assert not unknown, f"{name}: unknown keys {unknown} (typo?)"


def test_all_required_services_exist(services):
    missing = REQUIRED_SERVICES - set(services)
    assert not missing, f"missing services: {sorted(missing)}"


def test_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses volume {source!r}, which is not declared at the top level"


# ---- the Airflow services ------------------------------------------------------------------------


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_services_share_the_common_image_build_and_environment(compose, services, name):
    common = compose["x-airflow-common"]
    service = services[name]
    assert common["build"]["context"] == "." and (REPO / common["build"].get("dockerfile", "Dockerfile")) == DOCKERFILE
    assert service["build"] == common["build"]
    assert service["image"] == common["image"]
    assert "presta-eb-airflow" in compose_defaults(common["image"]), "the image is this project's build, not the stock image"
    assert service["env_file"] == common["env_file"] == ".env"
    env = environment(service)
    for key, value in environment(common).items():
        assert env.get(key) == value, f"{name} lost or changed {key} of the common environment"
    if name != "airflow-init":
        assert service["user"] == '${AIRFLOW_UID:-50000}:0'


@pytest.mark.parametrize("name", LONG_RUNNING_AIRFLOW)
def test_airflow_services_run_their_component(services, name):
    assert as_text(services[name]["command"]).strip() == COMMANDS[name]
    assert "entrypoint" not in services[name], "the image's entrypoint must run (it waits for the DB and the broker)"


@pytest.mark.parametrize("name", sorted(HEALTH_PROBES))
def test_long_running_services_have_the_right_health_probe_and_restart(services, name):
    service = services[name]
    test = health_test(service)
    for part in HEALTH_PROBES[name]:
        assert part in test, f"{name}: health check {test!r} lacks {part!r}"
    for key in ("interval", "retries"):
        assert key in service["healthcheck"], f"{name}: health check without {key}"
    assert service.get("restart") in ("always", "unless-stopped"), f"{name} must come back after a crash or reboot"


def test_every_long_running_service_has_a_health_check(services):
    one_shot = {"airflow-init"}
    assert set(services) - one_shot == set(HEALTH_PROBES), "a service without a health probe, or a probe for a service that is gone"


def test_scheduler_serves_the_health_endpoint_it_is_probed_on(services):
    env = environment(services["airflow-scheduler"])
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"].lower() == "true", "without it nothing listens on 8974"
    assert env.get("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT", "8974") == "8974"


def test_api_server_is_published_on_the_port_it_is_probed_and_called_on(services):
    api = services["airflow-apiserver"]
    container_ports = {compose_defaults(port).rsplit(":", 1)[-1] for port in api["ports"]}
    assert container_ports == {"8080"}
    assert "8080" in health_test(api)


def test_worker_shuts_down_warmly(services):
    assert environment(services["airflow-worker"])["DUMB_INIT_SETSID"] == "0"


# ---- start order ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_airflow_services_wait_for_healthy_postgres_and_redis(services, name):
    depends = services[name]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", LONG_RUNNING_AIRFLOW)
def test_airflow_components_start_after_airflow_init_succeeded(services, name):
    assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_worker_waits_for_the_execution_api(services):
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_airflow_init_is_one_shot(services):
    init = services["airflow-init"]
    assert "airflow-init" not in init["depends_on"]
    # a restart policy would keep it from ever being "completed successfully"
    assert init.get("restart", "no") in ("no", "on-failure")
    assert "healthcheck" not in init


# ---- mounts, tenants, state store ---------------------------------------------------------------


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_code_tenant_files_logs_and_config_are_mounted(services, name):
    mounts = bind_mounts(services[name])
    for folder in ("dags", "include"):
        source, options = mounts[f"{AIRFLOW_HOME}/{folder}"]
        assert source == f"./{folder}"
        assert options == "ro", f"{name}: {folder} is code or tenant config, mounted read-only"
    # the package comes from the wheel in the image: a mounted copy on the path would shadow it
    assert f"{AIRFLOW_HOME}/plugins" not in mounts and "PYTHONPATH" not in environment(services[name])
    for folder in ("logs", "config"):
        source, options = mounts[f"{AIRFLOW_HOME}/{folder}"]
        assert source == f"./{folder}" and options != "ro", f"{name}: {folder} must be writable"


def test_mounted_host_paths_exist_in_the_repo(services):
    for name, service in services.items():
        for target, (source, _) in bind_mounts(service).items():
            if source in RUNTIME_CREATED:
                continue
            path = (REPO / source).resolve()
            assert path.exists(), f"{name}: {source} (mounted at {target}) is not in the repo"
            assert REPO in path.parents, f"{name}: {source} lies outside the repo"
            if path.suffix == ".sh":
                assert path.stat().st_mode & stat.S_IXUSR, f"{source} must be executable"


def test_tenants_dir_is_inside_the_mounted_include_folder_and_holds_tenant_files(services):
    for name in AIRFLOW_SERVICES:
        tenants_dir = environment(services[name])["PRESTA_EB_TENANTS_DIR"]
        mounts = bind_mounts(services[name])
        target = next((t for t in mounts if tenants_dir == t or tenants_dir.startswith(t + "/")), None)
        assert target, f"{name}: PRESTA_EB_TENANTS_DIR={tenants_dir} is not in a mounted folder"
        host = REPO / mounts[target][0] / os.path.relpath(tenants_dir, target)
        assert sorted(host.glob("*.yaml")), f"{host} holds no tenant files"
    assert tenants_dir == f"{AIRFLOW_HOME}/include/tenants"


def test_setup_cli_comes_with_the_wheel_the_image_installs():
    text = DOCKERFILE.read_text()
    assert re.search(r"^COPY\s+(--\S+\s+)*plugins/prestashop_eboekhouden\s+\S+$", text, re.M), "the package is the wheel's source"
    assert re.search(r"^RUN\s+pip wheel .*--no-deps", text, re.M)
    assert (REPO / "plugins" / "prestashop_eboekhouden" / "setup.py").is_file()


def test_state_store_is_its_own_postgres_database_created_by_the_init_script(services):
    env = environment(services["airflow-scheduler"])
    state, metadata = url_of(env["PRESTA_EB_STATE_DB"]), url_of(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert state.scheme in ("postgresql", "postgresql+psycopg2")
    assert state.hostname == "postgres" and "postgres" in services
    assert state.path != metadata.path, "the state store must not live in Airflow's metadata database"
    assert state.username != metadata.username, "the state store has a role of its own"
    assert state.password == "$PRESTA_EB_DB_PASSWORD"

    postgres = services["postgres"]
    assert environment(postgres)["PRESTA_EB_DB_PASSWORD"].startswith("${PRESTA_EB_DB_PASSWORD")
    init_mounts = {t: s for t, (s, _) in bind_mounts(postgres).items() if t.startswith("/docker-entrypoint-initdb.d/")}
    assert len(init_mounts) == 1, "one init script creates the state store database"
    script = (REPO / next(iter(init_mounts.values()))).read_text()
    assert re.search(rf"^db_name={re.escape(state.path.lstrip('/'))}$", script, re.M)
    assert re.search(rf"^db_user={re.escape(state.username)}$", script, re.M)
    assert "CREATE DATABASE" in script and "CREATE ROLE" in script


# ---- executor and backends ----------------------------------------------------------------------


def test_celery_executor_with_postgres_metadata_and_result_backend_and_redis_broker(services):
    postgres_env = environment(services["postgres"])
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        metadata = url_of(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert metadata.scheme in ("postgresql", "postgresql+psycopg2") and metadata.hostname == "postgres"
        assert metadata.username == postgres_env["POSTGRES_USER"] and metadata.path == "/" + postgres_env["POSTGRES_DB"]
        assert metadata.password == compose_defaults(postgres_env["POSTGRES_PASSWORD"])
        result = url_of(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        assert result.scheme == "db+postgresql" and result.hostname == "postgres"
        broker = url_of(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.scheme == "redis" and broker.hostname == "redis" and (broker.port or 6379) == 6379
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"


def test_broker_password_is_the_one_redis_requires(services):
    redis = services["redis"]
    command = redis["command"]
    required = command[command.index("--requirepass") + 1]
    broker = url_of(environment(services["airflow-worker"])["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.password == compose_defaults(required)
    assert environment(redis)["REDISCLI_AUTH"] == required, "the health check must authenticate with the same password"


def test_execution_api_url_points_at_the_api_server_service(services):
    for name in AIRFLOW_SERVICES:
        url = urlsplit(environment(services[name])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert url.hostname == "airflow-apiserver" and as_text(services[url.hostname]["command"]) == "api-server"
        assert url.port == 8080 and url.path == "/execution/"


def test_shared_signing_keys_are_the_same_in_every_component(services):
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        values = {environment(services[name]).get(key) for name in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values, f"{key} must be set, and equal, everywhere: {values}"


def test_simple_auth_manager_keeps_its_passwords_in_the_mounted_config_folder(services):
    env = environment(services["airflow-apiserver"])
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].startswith("${AIRFLOW_USERS")
    passwords = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert passwords.startswith(f"{AIRFLOW_HOME}/config/"), "outside a volume the passwords change with every new container"
    assert bind_mounts(services["airflow-apiserver"])[f"{AIRFLOW_HOME}/config"][0] == "./config"


# ---- airflow-init -------------------------------------------------------------------------------


def test_airflow_init_migrates_then_creates_pools_and_checks_tenants(services):
    script = init_script(services)
    assert script.lstrip().startswith("set -e") or "\nset -e" in script, "a failing step must fail airflow-init"
    migrate = script.index("airflow db migrate")
    pools = script.index("prestashop_eboekhouden.setup pools")
    check = script.index("prestashop_eboekhouden.setup check")
    store = script.index("python -m prestashop_eboekhouden.setup migrate")  # the state store's own migrations
    assert migrate < pools and migrate < check and migrate < store
    # one invalid tenant file must not keep the whole stack down (DESIGN.md): its failure is reported only
    assert re.search(r"if\s+!\s+\S*\s*python -m prestashop_eboekhouden\.setup check", script)


def test_airflow_init_hands_root_created_files_to_the_airflow_user(services):
    init = services["airflow-init"]
    assert init["user"] == "0:0"
    script = init_script(services)
    assert re.search(r"chown \"\$\{AIRFLOW_UID:-50000\}:0\"", script)
    assert f"{AIRFLOW_HOME}/logs" in script and f"{AIRFLOW_HOME}/config" in script


def test_airflow_init_script_is_valid_bash(services):
    script = compose_defaults(init_script(services))
    result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.airflow
def test_airflow_init_python_steps_work_on_the_repo(services, airflow_db, tmp_path):
    """The `/entrypoint python ...` steps of airflow-init, run as written against the repo's files."""
    script = compose_defaults(init_script(services))
    steps = [re.sub(r";\s*then$", "", step).strip() for step in re.findall(r"/entrypoint (python .*)$", script, re.M)]
    assert len(steps) == 3, steps
    init_env = environment(services["airflow-init"])
    slots = compose_defaults(init_env["PRESTA_EB_POOL_SLOTS"])
    state_db = tmp_path / "state.db"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO / "plugins"),
        "PRESTA_EB_TENANTS_DIR": str(REPO / "include" / "tenants"),
        "PRESTA_EB_STATE_DB": f"sqlite:///{state_db}",
        "PRESTA_EB_POOL_SLOTS": slots,
    }
    for step in steps:
        result = subprocess.run(["bash", "-c", step], env=env, cwd=tmp_path, text=True, capture_output=True, timeout=120)
        assert result.returncode == 0, f"{step}\n{result.stdout}\n{result.stderr}"

    tables = sqlite3.connect(state_db).execute("select count(*) from sqlite_master where type='table'").fetchone()[0]
    assert tables > 0, "the state store step created no tables"
    pools = dict(sqlite3.connect(airflow_db / "airflow.db").execute("select pool, slots from slot_pool").fetchall())
    for tenant in tenant_ids():
        assert pools.get(f"eboekhouden_{tenant}") == int(slots), pools


# ---- secrets and .env.example -------------------------------------------------------------------


def test_no_literal_secrets_in_the_compose_file(compose):
    for name, service in compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert REQUIRED_REF.fullmatch(value), f"{name}: {key} must be a required ${{VAR:?...}} reference, is {value!r}"
        command = service.get("command")
        if isinstance(command, list) and "--requirepass" in command:
            assert REQUIRED_REF.fullmatch(command[command.index("--requirepass") + 1])
    for text in strings(compose):
        for match in CREDENTIAL_URL.finditer(text):
            assert REQUIRED_REF.fullmatch(match["password"]), f"literal password in {text!r}"


def test_secrets_have_no_fallback_values(compose):
    secrets = {m["name"] for text in strings(compose) for m in REQUIRED_REF.finditer(text)}
    assert {"POSTGRES_PASSWORD", "PRESTA_EB_DB_PASSWORD", "REDIS_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET"} <= secrets
    for text in strings(compose):
        for name in secrets:
            assert not re.search(rf"\$\{{{name}:?-", text), f"{name} has a default somewhere: {text!r}"


def test_every_variable_of_the_compose_file_is_in_env_example_and_nothing_stale(compose):
    used = set().union(*(referenced_variables(text) for text in strings(compose)))
    documented = set(env_example())
    assert used - documented == set(), f"not in .env.example: {sorted(used - documented)}"
    assert documented - used == set(), f"in .env.example but unused: {sorted(documented - used)}"


def test_env_example_ships_no_secret_values(compose):
    values = env_example()
    required = {m["name"] for text in strings(compose) for m in REQUIRED_REF.finditer(text)}
    for name in required:
        assert values[name] == "", f"{name} must be empty in .env.example (Compose then refuses to start until it is set)"
    for name, value in values.items():
        if SECRET_NAME.search(name):
            assert value == "", f"{name} has a value in .env.example"


def test_env_example_connection_examples_are_valid_json_connections(services):
    connections = env_example_connections()
    shop, books = connections["AIRFLOW_CONN_PRESTASHOP_ACME"], connections["AIRFLOW_CONN_EBOEKHOUDEN_ACME"]
    assert shop["conn_type"] == books["conn_type"] == "http"
    assert shop["host"].startswith("https://") and shop["password"]
    assert books["host"] == "https://api.e-boekhouden.nl" and books["password"]
    for conn_id, conn in connections.items():
        if conn_id == "AIRFLOW_CONN_VIES_DEFAULT":  # VIES needs no credentials: the service's address only
            assert conn["conn_type"] == "vies" and conn["host"] and "password" not in conn, conn_id
        elif (conn.get("extra") or {}).get("api") == "soap":  # the legacy SOAP API: username and security codes
            assert {"username", "security_code_1", "security_code_2"} <= set(conn["extra"]) and "password" not in conn, conn_id
        else:
            assert {"conn_type", "host", "password"} <= set(conn), conn_id
        if conn_id.startswith("AIRFLOW_CONN_EBOEKHOUDEN_"):
            assert 0 < len(conn["extra"]["source"]) <= 10, f"{conn_id}: e-Boekhouden takes a source of at most 10 characters"


def test_env_example_demo_connections_point_at_the_sandbox_service(services):
    connections = env_example_connections()
    command = services["sandbox"]["command"]
    ports = {
        "PRESTASHOP_DEMO": command[command.index("--prestashop-port") + 1], "EBOEKHOUDEN_DEMO": command[command.index("--eboekhouden-port") + 1],
        "PRESTASHOP_DEMO_LEGACY": command[command.index("--prestashop-port") + 1],
        "EBOEKHOUDEN_DEMO_LEGACY": command[command.index("--eboekhouden-soap-port") + 1],
        "VIES_DEFAULT": command[command.index("--vies-port") + 1],
    }  # fmt: skip
    for conn_id, port in ports.items():
        url = urlsplit(connections[f"AIRFLOW_CONN_{conn_id}"]["host"])
        assert (url.hostname, str(url.port)) == ("sandbox", port)
    assert "demo" in tenant_ids()


def test_make_env_fills_every_required_secret_and_never_overwrites(compose, tmp_path):
    target = tmp_path / ".env"
    result = subprocess.run(["bash", str(MAKE_ENV), str(target)], text=True, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert "No generator" not in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    values = {}
    for line in target.read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line):
            values[match[1]] = match[2]
    assert set(values) == set(env_example())
    required = {m["name"] for text in strings(compose) for m in REQUIRED_REF.finditer(text)}
    for name in required:
        assert re.fullmatch(r"[A-Za-z0-9_=-]{32,}", values[name]), f"{name}: {values[name]!r} (URL-safe, long enough)"
    assert len(set(values[name] for name in required)) == len(required), "each secret is its own"
    from cryptography.fernet import Fernet

    Fernet(values["AIRFLOW_FERNET_KEY"].encode())  # raises on an invalid key
    assert values["AIRFLOW_UID"].isdigit() and values["AIRFLOW_UID"] != "0"

    before = target.read_text()
    again = subprocess.run(["bash", str(MAKE_ENV), str(target)], text=True, capture_output=True)
    assert again.returncode != 0 and target.read_text() == before


# ---- the image ----------------------------------------------------------------------------------


def test_dockerfile_base_image_matches_the_pins():
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(froms) == 2 and len(set(froms)) == 1, "the wheel is built on the same image it is installed on"
    match = re.fullmatch(r"apache/airflow:(?P<version>[0-9.]+)-python(?P<python>[0-9.]+)", froms[0])
    assert match, froms[0]
    pin = requirement_pin("apache-airflow")
    assert match["version"] == pin, f"image {froms[0]} but requirements.txt pins apache-airflow=={pin}"
    from packaging.specifiers import SpecifierSet

    requires_python = re.search(r'requires-python\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text())[1]
    assert SpecifierSet(requires_python).contains(match["python"]), f"python{match['python']} vs requires-python {requires_python}"
    install = re.search(r"^RUN\s+pip install .*$", text, re.M)[0]
    # as scripts/wheel_check.sh installs it: Airflow named, the wheel, the pins as constraints
    assert f'"apache-airflow=={pin}"' in install and ".whl" in install and "-c /requirements.txt" in install and "--no-cache-dir" in install
    assert re.search(r"^COPY\s+(--\S+\s+)*requirements\.txt\s+/requirements\.txt$", text, re.M)


def test_dockerfile_bakes_in_only_the_package_and_installs_as_the_airflow_user():
    text = DOCKERFILE.read_text()
    for folder in ("dags", "include", "sandbox"):
        assert not re.search(rf"^(COPY|ADD)\b.*\b{folder}\b", text, re.M), f"{folder}/ is mounted, not baked in"
    copied = [line for line in re.findall(r"^(?:COPY|ADD)\s+.*$", text, re.M) if "plugins" in line]
    assert copied and all("plugins/prestashop_eboekhouden " in line for line in copied), "only the package goes into the wheel"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] == "airflow"
    assert text.index("USER airflow") < text.index("pip install")


# ---- the sandbox profile --------------------------------------------------------------------------


def test_sandbox_runs_only_in_its_profile(services):
    assert services["sandbox"]["profiles"] == ["sandbox"]
    for name, service in services.items():
        if name != "sandbox":
            assert "profiles" not in service, f"{name} would not start with a plain `docker compose up`"
            assert "sandbox" not in (service.get("depends_on") or {}), f"{name} must not need the sandbox"


def test_sandbox_runs_the_repo_emulators(services):
    sandbox = services["sandbox"]
    command = as_text(sandbox.get("entrypoint")) + " " + as_text(sandbox["command"])
    assert command.strip() == "python -m sandbox --host 0.0.0.0 --prestashop-port 8081 --eboekhouden-port 8082 --eboekhouden-soap-port 8083 --vies-port 8084"
    mounts = bind_mounts(sandbox)
    package = next(target for target, (source, _) in mounts.items() if source == "./sandbox")
    assert package.endswith("/sandbox") and (REPO / "sandbox").is_dir()
    parent = package.rsplit("/", 1)[0]
    assert parent in environment(sandbox)["PYTHONPATH"].split(":"), "python -m sandbox must find the mounted package"
    published = {compose_defaults(port).rsplit(":", 1)[-1] for port in sandbox["ports"]}
    assert published == {"8081", "8082", "8083", "8084"}
    wsdl = next(target for target, (source, _) in mounts.items() if source.endswith("eboekhouden_soap.wsdl"))
    assert environment(sandbox)["SANDBOX_SOAP_WSDL"] == wsdl, "the SOAP emulator must find the hook's WSDL"
    assert (REPO / "plugins/prestashop_eboekhouden/hooks/eboekhouden_soap.wsdl").is_file()
    assert sandbox["image"] == services["airflow-worker"]["image"], "the emulators need the image's FastAPI"


# ---- shell scripts ------------------------------------------------------------------------------


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "docker").rglob("*.sh")) or ["<none>"])
def test_shell_scripts_are_valid_bash(script):
    path = next((REPO / "docker").rglob(script), None)
    assert path is not None, "docker/ holds the stack's scripts"
    result = subprocess.run(["bash", "-n", str(path)], text=True, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert path.stat().st_mode & stat.S_IXUSR, f"{path} must be executable"


# ---- the Postgres init script against a real server ---------------------------------------------


def _postgres_bin() -> Path | None:
    candidates = [Path(p).parent for p in (shutil.which("initdb"), shutil.which("postgres")) if p]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[dict]:
    """A throwaway Postgres server (superuser airflow, database airflow), like the postgres service."""
    pg_bin = _postgres_bin()
    if pg_bin is None or not shutil.which("psql"):
        pytest.skip("no PostgreSQL server binaries (initdb, postgres, psql) on this machine")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="presta-eb-pg-"))
    if os.geteuid() == 0:  # Postgres refuses to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"
    subprocess.run([*as_user, str(pg_bin / "initdb"), "-D", str(data), "-U", "airflow", "--auth-local=trust", "--auth-host=scram-sha-256"],
                   check=True, capture_output=True)
    server = subprocess.Popen([*as_user, str(pg_bin / "postgres"), "-D", str(data), "-k", str(folder), "-p", str(port),
                               "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {**os.environ, "PGHOST": str(folder), "PGPORT": str(port)}
    try:
        for _ in range(100):
            if subprocess.run(["psql", "-U", "airflow", "-d", "postgres", "-c", "select 1"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        create = ["psql", "-U", "airflow", "-d", "postgres", "-c", "CREATE DATABASE airflow"]
        subprocess.run(create, env=env, check=True, capture_output=True)
        yield {"env": env, "port": port}
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_init_script_creates_a_state_store_only_its_role_can_use(services, postgres_server):
    import sqlalchemy as sa

    postgres_env = environment(services["postgres"])
    script_target = next(t for t in bind_mounts(services["postgres"]) if t.startswith("/docker-entrypoint-initdb.d/"))
    script = REPO / bind_mounts(services["postgres"])[script_target][0]
    password = "pw-" + os.urandom(8).hex()
    env = {**postgres_server["env"], "POSTGRES_USER": postgres_env["POSTGRES_USER"], "POSTGRES_DB": postgres_env["POSTGRES_DB"],
           "PRESTA_EB_DB_PASSWORD": password}
    for attempt in range(2):  # the script is documented as safe to run again on an existing volume
        result = subprocess.run(["bash", str(script)], env=env, text=True, capture_output=True)
        assert result.returncode == 0, f"run {attempt + 1}: {result.stderr}"

    # PRESTA_EB_STATE_DB as the containers get it, with this server in place of the postgres service
    url = environment(services["airflow-worker"])["PRESTA_EB_STATE_DB"]
    url = REQUIRED_REF.sub(password, url).replace("@postgres:5432/", f"@127.0.0.1:{postgres_server['port']}/")
    from prestashop_eboekhouden.setup import migrate_store
    from prestashop_eboekhouden.store import StateStore

    assert migrate_store(url) == 0  # the init service's `setup migrate`: Alembic creates the tables as the presta_eb role
    store = StateStore(url)  # the workers' check: at the newest revision
    assert {"presta_eb_orders", "presta_eb_alembic_version"} <= set(sa.inspect(store.engine).get_table_names())
    store.engine.dispose()

    parts = sa.engine.make_url(url)
    with pytest.raises(sa.exc.OperationalError, match="permission denied"):
        sa.create_engine(parts.set(database=postgres_env["POSTGRES_DB"])).connect()
    with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
        sa.create_engine(parts.set(password="wrong")).connect()
