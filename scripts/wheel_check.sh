#!/usr/bin/env bash
# Proof that the provider installs into any Airflow with pip (issue 17): build the wheel, install it into a
# FRESH virtualenv next to apache-airflow from the pinned set (requirements.txt as constraints), with the
# repository NOT on PYTHONPATH and an empty plugins folder, then check there:
#   - `airflow providers list` shows it; the plugin is registered through its entry point;
#   - GET /ui/connections/hook_meta (what the Connections form reads; Airflow 3.3 serves it under /ui) has the connection types prestashop and eboekhouden and their fields;
#   - the dashboard answers at /bookkeeping/; a SOAP connection stored in the metadata DB comes back masked;
#   - `setup migrate` and `setup validate` work; `airflow dags test` of demo__orders_hourly books sandbox orders;
#   - screenshots of the Connections form for both types (headless Chromium, when installed).
# Output: test-artifacts/wheel/ (report.json, screenshots, logs). pip's wheel cache makes reruns take ~1-2 min.
#
#   scripts/wheel_check.sh            # everything
#   WHEEL_CHECK_KEEP=1 scripts/wheel_check.sh   # keep the scratch folder (venv, Airflow home) for a look
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
OUT="${WHEEL_CHECK_OUT:-$REPO/test-artifacts/wheel}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/presta-eb-wheel-XXXXXX")"
cleanup() { [ "${WHEEL_CHECK_KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$OUT" && mkdir -p "$OUT"
started=$SECONDS

echo "== 1. build the wheel (from a copy of the tracked files: nothing is written into the repo)"
mkdir -p "$WORK/src"
git ls-files -z -- pyproject.toml README.md CHANGELOG.md plugins/prestashop_eboekhouden | xargs -0 -I{} cp --parents {} "$WORK/src/"
quiet() { grep -v "is ignored: it is neither a file nor a directory" || true; }  # pip's notes on this machine's local index mirrors
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$WORK/src" 2>&1 | tee "$OUT/build.log" | quiet
WHEEL="$(ls "$WORK"/dist/*.whl)"
echo "built $(basename "$WHEEL")"

echo "== 2. a fresh virtualenv: apache-airflow and the wheel, resolved against requirements.txt"
"$PYTHON" -m venv "$WORK/venv"
env -u PYTHONPATH "$WORK/venv/bin/python" -m pip install --quiet --upgrade pip
# apache-airflow named again so pip never moves Airflow; the pins as constraints, the wheel's own ranges decide
env -u PYTHONPATH "$WORK/venv/bin/python" -m pip install --quiet "apache-airflow==3.3.2" "$WHEEL" -c requirements.txt 2>&1 | tee "$OUT/install.log" | quiet
env -u PYTHONPATH "$WORK/venv/bin/python" -m pip freeze > "$OUT/pip-freeze.txt"
echo "installed in $((SECONDS - started)) s"

echo "== 3. checks in that virtualenv (the repo's .venv only runs the sandbox emulators and the browser)"
PY="$REPO/.venv/bin/python"
[ -x "$PY" ] || PY="$PYTHON"
"$PY" "$REPO/scripts/wheel_check.py" --venv "$WORK/venv" --work "$WORK" --out "$OUT" --wheel "$WHEEL"
echo "wheel check passed in $((SECONDS - started)) s; report: ${OUT#"$REPO"/}/report.json"
