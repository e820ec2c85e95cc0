#!/usr/bin/env bash
# Proof that the provider installs into any Airflow with pip (issue 17): build the wheel, install it into a
# FRESH virtualenv next to apache-airflow from the pinned set (requirements.txt as constraints), with the
# repository NOT on PYTHONPATH and an empty plugins folder, then check there:
#   - `airflow providers list` shows it; the plugin is registered through its entry point;
#   - GET /ui/connections/hook_meta (what the Connections form reads; Airflow 3.3 serves it under /ui) has the connection types prestashop and eboekhouden and their fields;
#   - the dashboard answers at /bookkeeping/; a SOAP connection stored in the metadata DB comes back masked;
#   - `setup migrate` and `setup validate` work; `airflow dags test` of demo__orders_hourly books sandbox orders;
#   - screenshots of the Connections form for both types (headless Chromium, when installed).
# Output: test-artifacts/wheel/ (report.json, screenshots, logs). The pinned wheels are kept in a wheelhouse
# under ~/.cache/presta-eb/ (per requirements.txt), so a rerun installs offline in under a minute.
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
# The pinned set's wheels are downloaded once per requirements.txt (pip's own cache behind it) into a
# wheelhouse; the install then runs with --no-index: pip resolves the wheel's dependency ranges against the
# pinned set and nothing else, offline, in well under a minute.
digest="$(sha256sum requirements.txt | cut -c1-16)"
WHEELHOUSE="${WHEEL_CHECK_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/presta-eb/wheelhouse-$digest}"
if [ ! -f "$WHEELHOUSE/.complete" ]; then
  echo "downloading the pinned set into $WHEELHOUSE (once per requirements.txt) ..."
  mkdir -p "$WHEELHOUSE"
  "$PYTHON" -m pip download --quiet --dest "$WHEELHOUSE" -r requirements.txt 2>&1 | quiet
  touch "$WHEELHOUSE/.complete"
fi
"$PYTHON" -m venv "$WORK/venv"
# apache-airflow named again so pip never moves Airflow; the pins as constraints, the wheel's own ranges decide
env -u PYTHONPATH "$WORK/venv/bin/python" -m pip install --quiet --no-compile --no-index --find-links "$WHEELHOUSE" \
  "apache-airflow==3.3.2" "$WHEEL" -c requirements.txt 2>&1 | tee "$OUT/install.log" | quiet
env -u PYTHONPATH "$WORK/venv/bin/python" -m pip check | tee "$OUT/pip-check.log"
env -u PYTHONPATH "$WORK/venv/bin/python" -m pip freeze > "$OUT/pip-freeze.txt"
echo "installed in $((SECONDS - started)) s"

echo "== 3. checks in that virtualenv (the repo's .venv only runs the sandbox emulators and the browser)"
PY="$REPO/.venv/bin/python"
[ -x "$PY" ] || PY="$PYTHON"
"$PY" "$REPO/scripts/wheel_check.py" --venv "$WORK/venv" --work "$WORK" --out "$OUT" --wheel "$WHEEL"
echo "wheel check passed in $((SECONDS - started)) s; report: ${OUT#"$REPO"/}/report.json"
