#!/usr/bin/env bash
# The main job on the built-in sandbox: emulated PrestaShop + e-Boekhouden (+ VIES), and Airflow 3 with
# the demo tenant. Everything it starts stops on Ctrl-C. Nothing needs an account.
#
#   scripts/demo.sh                 # UI on http://localhost:8080
#   DEMO_PORT=8090 scripts/demo.sh  # another port
#
# Settings (environment; the defaults are the demo above, tests/live runs it with its own):
#   DEMO_PORT            8080                Airflow UI / API port
#   DEMO_HOME            .airflow/           Airflow home (metadata DB, logs, state store, admin password)
#   DEMO_SANDBOX_DIR     .sandbox/           the emulators' ports file and log
#   DEMO_TENANTS_DIR     include/tenants/    tenant files (exported as PRESTA_EB_TENANTS_DIR); every
#                                            tenant in it is connected to the sandbox
#   DEMO_TRIGGER         "demo demo_legacy"  tenants whose seeded history is booked at start (if their file exists)
#   DEMO_SOAP_TENANTS    "demo_legacy"       tenants connected to the legacy SOAP API emulator instead of REST
#   DEMO_ORDERS, DEMO_DAYS_BACK, DEMO_SEED, DEMO_LIVE_ORDERS_PER_HOUR   300, 3, 42, 30: the seeded shop
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PORT="${DEMO_PORT:-8080}"
TRIGGER="${DEMO_TRIGGER-demo demo_legacy}"
SOAP_TENANTS="${DEMO_SOAP_TENANTS-demo_legacy}"
SANDBOX_DIR="${DEMO_SANDBOX_DIR:-$REPO/.sandbox}"
bash scripts/venv.sh runtime

export AIRFLOW_HOME="${DEMO_HOME:-$REPO/.airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
# The dashboard plugin comes through the package's entry point (scripts/venv.sh installs the package in place, so the
# connection forms of its types appear too); the package is imported from plugins/ through PYTHONPATH. Airflow's own
# plugins folder stays empty: scanning plugins/ made every task log start with pathspec's deprecation warning about the
# folder's .airflowignore, and registered the plugin twice.
export AIRFLOW__CORE__PLUGINS_FOLDER="${DEMO_HOME:-$REPO/.airflow}/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
export AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=30
export PRESTA_EB_TENANTS_DIR="${DEMO_TENANTS_DIR:-$REPO/include/tenants}"
export PRESTA_EB_STATE_DB="sqlite:///$AIRFLOW_HOME/presta_eb_state.db"
export PYTHONPATH="$REPO/plugins:$REPO${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$AIRFLOW_HOME" "$SANDBOX_DIR" "$AIRFLOW__CORE__PLUGINS_FOLDER"
export PATH="$REPO/.venv/bin:$PATH"  # airflow standalone starts its parts as `airflow ...`
PY="$REPO/.venv/bin/python"
AIRFLOW="$REPO/.venv/bin/airflow"
HOME_SHOWN="${AIRFLOW_HOME#"$REPO"/}"     # .airflow for the default, else the full path
SANDBOX_SHOWN="${SANDBOX_DIR#"$REPO"/}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  trap '' PIPE  # stop the children even when the terminal or a pipe is already gone
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  echo; echo "Stopping the demo ..." 2>/dev/null || true
  wait 2>/dev/null || true
  echo "Stopped. State is kept in $HOME_SHOWN/ (remove it to start afresh)." 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# 1. the emulators, on free ports, seeded with three days of realistic orders and new ones arriving
PORTS_FILE="$SANDBOX_DIR/ports.json"
rm -f "$PORTS_FILE"
setsid "$PY" -m sandbox --prestashop-port 0 --eboekhouden-port 0 --eboekhouden-soap-port 0 --vies-port 0 --ports-file "$PORTS_FILE" \
  --orders "${DEMO_ORDERS:-300}" --days-back "${DEMO_DAYS_BACK:-3}" --seed "${DEMO_SEED:-42}" \
  --live-orders-per-hour "${DEMO_LIVE_ORDERS_PER_HOUR:-30}" > "$SANDBOX_DIR/sandbox.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$PORTS_FILE" ] && break; sleep 0.2; done
[ -s "$PORTS_FILE" ] || { echo "The sandbox did not start; see $SANDBOX_SHOWN/sandbox.log" >&2; exit 1; }
PS_URL="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["prestashop"])' "$PORTS_FILE")"
EB_URL="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["eboekhouden"])' "$PORTS_FILE")"
SOAP_URL="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["eboekhouden_soap"])' "$PORTS_FILE")"
VIES_URL="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["vies"])' "$PORTS_FILE")"

# 2. connections from the environment, as a production deployment may supply them
sandbox_connections() {  # tenant: prestashop_<tenant> and eboekhouden_<tenant> (REST) on the sandbox
  local id="${1^^}"
  export "AIRFLOW_CONN_PRESTASHOP_$id={\"conn_type\": \"prestashop\", \"host\": \"$PS_URL\", \"password\": \"SANDBOXPRESTASHOPKEY000000000000\"}"
  export "AIRFLOW_CONN_EBOEKHOUDEN_$id={\"conn_type\": \"eboekhouden\", \"host\": \"$EB_URL\", \"password\": \"sandbox-eboekhouden-token\", \"extra\": {\"source\": \"PSEBDEMO\"}}"
}
soap_connection() {  # tenant: eboekhouden_<tenant> on the legacy SOAP API (username + security codes 1 and 2)
  local id="${1^^}"
  export "AIRFLOW_CONN_EBOEKHOUDEN_$id={\"conn_type\": \"eboekhouden\", \"host\": \"$SOAP_URL\", \"extra\": {\"api\": \"soap\", \"username\": \"sandbox\", \"security_code_1\": \"SANDBOXSECURITYCODE1\", \"security_code_2\": \"SANDBOXSECURITYCODE2\", \"source\": \"PSEBDEMO\"}}"
}
for file in "$PRESTA_EB_TENANTS_DIR"/*.yaml; do
  if [ -e "$file" ]; then sandbox_connections "$(basename "$file" .yaml)"; fi
done
for tenant in $SOAP_TENANTS; do
  if [ -e "$PRESTA_EB_TENANTS_DIR/$tenant.yaml" ]; then soap_connection "$tenant"; fi
done
# ICP VAT numbers are checked in VIES: the sandbox's VIES emulator, which knows the shop's companies
export AIRFLOW_CONN_VIES_DEFAULT="{\"conn_type\": \"vies\", \"host\": \"$VIES_URL\"}"

# 3. Airflow: metadata DB, the state store's schema, the tenants' pools, then the standalone stack
"$AIRFLOW" db migrate > "$AIRFLOW_HOME/migrate.log" 2>&1
unset PRESTA_EB_STATE_AUTO_MIGRATE  # as in a deployment: migrated here, once; tasks only check
"$PY" -m prestashop_eboekhouden.setup migrate
"$PY" -m prestashop_eboekhouden.setup check
"$PY" -m prestashop_eboekhouden.setup pools
setsid "$AIRFLOW" standalone > "$AIRFLOW_HOME/standalone.log" 2>&1 &
pids+=($!)
echo "Starting Airflow 3 (log: $HOME_SHOWN/standalone.log) ..."
for _ in $(seq 1 180); do
  curl -fsS "http://localhost:$PORT/api/v2/version" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://localhost:$PORT/api/v2/version" >/dev/null || { echo "Airflow did not come up; see $HOME_SHOWN/standalone.log" >&2; exit 1; }

# 4. book the seeded history once per tenant in DEMO_TRIGGER (the hourly schedule then takes the
#    new orders hour by hour)
SINCE="$("$PY" -c 'import pendulum; print(pendulum.now("Europe/Amsterdam").subtract(days=4).start_of("day").isoformat())')"
triggered=()
for tenant in $TRIGGER; do
  [ -e "$PRESTA_EB_TENANTS_DIR/$tenant.yaml" ] || continue
  for _ in $(seq 1 120); do
    "$AIRFLOW" dags list -o plain 2>/dev/null | grep -q "^${tenant}__orders_hourly" && break
    sleep 1
  done
  "$AIRFLOW" dags trigger "${tenant}__orders_hourly" --conf "{\"since\": \"$SINCE\"}" > /dev/null
  triggered+=("${tenant}__orders_hourly")
done
RUNS="$(printf '%s, ' "${triggered[@]}")"; RUNS="${RUNS%, }"
PASSWORD="$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("admin", ""))' "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" 2>/dev/null || true)"

# 5. once a tenant's history is booked, its payments DAG runs once (it is scheduled at 06:00): the Payments tab then
#    shows booked and refused payments instead of "0 booked", and refused ones appear in Errors
if [ "${#triggered[@]}" -gt 0 ] && [ -n "$PASSWORD" ]; then
  setsid "$PY" - "http://localhost:$PORT" "$PASSWORD" "${triggered[@]}" > "$AIRFLOW_HOME/demo-payments.log" 2>&1 <<'PY' &
import sys, time
import requests
base, password, dags = sys.argv[1], sys.argv[2], sys.argv[3:]
token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30).json()["access_token"]
auth = {"Authorization": f"Bearer {token}"}
waiting = set(dags)
for _ in range(720):  # at most an hour
    for dag_id in sorted(waiting):
        runs = requests.get(f"{base}/api/v2/dags/{dag_id}/dagRuns", params={"run_type": "manual"}, headers=auth, timeout=30).json().get("dag_runs", [])
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            payments = dag_id.replace("__orders_hourly", "__payments_daily")
            answer = requests.post(f"{base}/api/v2/dags/{payments}/dagRuns", json={"logical_date": None, "note": "demo: the payments of the booked history"}, headers=auth, timeout=30)
            print(payments, answer.status_code, flush=True)
            waiting.discard(dag_id)
    if not waiting:
        break
    time.sleep(5)
PY
  pids+=($!)
fi

cat <<TXT

  Airflow UI     http://localhost:$PORT        login: admin / ${PASSWORD:-see $HOME_SHOWN/simple_auth_manager_passwords.json.generated}
  Bookkeeping    http://localhost:$PORT/bookkeeping/   (also in the Airflow menu)
  PrestaShop     $PS_URL/api/   (emulated; key SANDBOXPRESTASHOPKEY000000000000)
  e-Boekhouden   $EB_URL   (emulated; what it received: $EB_URL/__sandbox__/mutations)
                 $SOAP_URL/soap.asmx   (its legacy SOAP API, same administration; tenants: ${SOAP_TENANTS:-none})
  VIES           $VIES_URL/taxation_customs/vies/services/checkVatService   (emulated; ICP VAT numbers)

  A run of ${RUNS:-no DAG} is booking the seeded orders now; watch it under Dags.
  Press Ctrl-C to stop everything this script started.
TXT
wait "${pids[1]}"
