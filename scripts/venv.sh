#!/usr/bin/env bash
# Creates or refreshes .venv/ from the pinned requirement files (sourced by demo.sh and test.sh).
# Re-installs only when a requirements file changed since the last install.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.venv"
want="${1:-runtime}"   # runtime | dev
files=("$REPO/requirements.txt" "$REPO/pyproject.toml")
[ "$want" = dev ] && files+=("$REPO/requirements-dev.txt")
stamp="$VENV/.installed-$want"
digest="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, this is {sys.version}"'
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "Installing pinned $want requirements into .venv (first run takes a few minutes) ..."
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  if [ "$want" = dev ]; then
    "$VENV/bin/python" -m pip install --quiet -r "$REPO/requirements-dev.txt"
  else
    "$VENV/bin/python" -m pip install --quiet -r "$REPO/requirements.txt"
  fi
  # The package itself, in place (its code stays in plugins/): its entry points register the provider (connection
  # forms) and the dashboard plugin with Airflow, as for anyone who pip installs the wheel.
  "$VENV/bin/python" -m pip install --quiet --no-deps -e "$REPO"
  # setuptools leaves the build's metadata beside the code; with plugins/ on sys.path Airflow would then see the
  # distribution twice and register the plugin twice ("already registered"): the installed metadata is the one
  rm -rf "$REPO"/plugins/*.egg-info
  echo "$digest" > "$stamp"
fi
if [ "$want" = dev ]; then  # the dev set includes the runtime set: demo.sh (run by tests/live) need not reinstall it
  cat "$REPO/requirements.txt" "$REPO/pyproject.toml" | sha256sum | cut -d' ' -f1 > "$VENV/.installed-runtime"
fi
