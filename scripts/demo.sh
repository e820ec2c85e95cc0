#!/usr/bin/env bash
# The main job on the built-in sandbox: emulated PrestaShop + e-Boekhouden, and Airflow 3 with
# the demo tenant. Everything it starts stops on Ctrl-C. Nothing needs an account.
#
#   scripts/demo.sh                 # UI on http://localhost:8080
#   DEMO_PORT=8090 scripts/demo.sh  # another port
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PORT="${DEMO_PORT:-8080}"
bash scripts/venv.sh runtime

export AIRFLOW_HOME="$REPO/.airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$REPO/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://localhost:$PORT"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
export AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=30
export PRESTA_EB_STATE_DB="sqlite:///$AIRFLOW_HOME/presta_eb_state.db"
export PYTHONPATH="$REPO/plugins:$REPO${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$AIRFLOW_HOME" .sandbox
export PATH="$REPO/.venv/bin:$PATH"  # airflow standalone starts its parts as `airflow ...`
PY="$REPO/.venv/bin/python"
AIRFLOW="$REPO/.venv/bin/airflow"

pids=()
cleanup() {
  trap - INT TERM EXIT
  trap '' PIPE  # stop the children even when the terminal or a pipe is already gone
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  echo; echo "Stopping the demo ..." 2>/dev/null || true
  wait 2>/dev/null || true
  echo "Stopped. State is kept in .airflow/ (remove it to start afresh)." 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# 1. the emulators, on free ports, seeded with three days of realistic orders and new ones arriving
rm -f .sandbox/ports.json
setsid "$PY" -m sandbox --prestashop-port 0 --eboekhouden-port 0 --orders 300 --days-back 3 \
  --live-orders-per-hour 30 --ports-file .sandbox/ports.json > .sandbox/sandbox.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s .sandbox/ports.json ] && break; sleep 0.2; done
[ -s .sandbox/ports.json ] || { echo "The sandbox did not start; see .sandbox/sandbox.log" >&2; exit 1; }
PS_URL="$("$PY" -c 'import json; print(json.load(open(".sandbox/ports.json"))["prestashop"])')"
EB_URL="$("$PY" -c 'import json; print(json.load(open(".sandbox/ports.json"))["eboekhouden"])')"

# 2. connections from the environment, as a production deployment may supply them
export AIRFLOW_CONN_PRESTASHOP_DEMO="{\"conn_type\": \"http\", \"host\": \"$PS_URL\", \"password\": \"SANDBOXPRESTASHOPKEY0000000000000\"}"
export AIRFLOW_CONN_EBOEKHOUDEN_DEMO="{\"conn_type\": \"http\", \"host\": \"$EB_URL\", \"password\": \"sandbox-eboekhouden-token\", \"extra\": {\"source\": \"PSEBDEMO\"}}"

# 3. Airflow: metadata DB, the tenant's pool, then the standalone stack
"$AIRFLOW" db migrate > "$AIRFLOW_HOME/migrate.log" 2>&1
"$PY" -m prestashop_eboekhouden.setup check
"$PY" -m prestashop_eboekhouden.setup pools
setsid "$AIRFLOW" standalone > "$AIRFLOW_HOME/standalone.log" 2>&1 &
pids+=($!)
echo "Starting Airflow 3 (log: .airflow/standalone.log) ..."
for _ in $(seq 1 180); do
  curl -fsS "http://localhost:$PORT/api/v2/version" >/dev/null 2>&1 && break
  sleep 1
done
curl -fsS "http://localhost:$PORT/api/v2/version" >/dev/null || { echo "Airflow did not come up; see .airflow/standalone.log" >&2; exit 1; }

# 4. book the seeded history once (the hourly schedule then takes the new orders hour by hour)
for _ in $(seq 1 120); do
  "$AIRFLOW" dags list -o plain 2>/dev/null | grep -q '^demo__orders_hourly' && break
  sleep 1
done
SINCE="$("$PY" -c 'import pendulum; print(pendulum.now("Europe/Amsterdam").subtract(days=4).start_of("day").isoformat())')"
"$AIRFLOW" dags trigger demo__orders_hourly --conf "{\"since\": \"$SINCE\"}" > /dev/null
PASSWORD="$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("admin", ""))' "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" 2>/dev/null || true)"

cat <<TXT

  Airflow UI     http://localhost:$PORT        login: admin / ${PASSWORD:-see .airflow/simple_auth_manager_passwords.json.generated}
  Bookkeeping    http://localhost:$PORT/bookkeeping/   (also in the Airflow menu)
  PrestaShop     $PS_URL/api/   (emulated; key SANDBOXPRESTASHOPKEY0000000000000)
  e-Boekhouden   $EB_URL   (emulated; what it received: $EB_URL/__sandbox__/mutations)

  A run of demo__orders_hourly is booking the seeded orders now; watch it under Dags.
  Press Ctrl-C to stop everything this script started.
TXT
wait "${pids[1]}"
