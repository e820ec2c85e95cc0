#!/usr/bin/env bash
# The whole test suite on a fresh machine: .venv from the pinned files, ruff, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/venv.sh dev
bash scripts/stack-deps.sh           # PostgreSQL and Redis for tests/stack (Debian packages, installed when missing)
bash scripts/browser.sh || true   # headless Chromium for the dashboard browser test (skipped with a reason if it cannot be had)
.venv/bin/ruff check .   # the rules in pyproject.toml ([tool.ruff.lint]); ruff is pinned in requirements-dev.txt
.venv/bin/mypy           # [tool.mypy] in pyproject.toml: the package, domain/ and pipeline/ strictly
run_pytest() {  # pytest's exit 5 (no test collected) is a failure here
  set +e
  .venv/bin/python -m pytest -p no:cacheprovider "$@"
  local status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    return 1
  fi
  return "$status"
}
if [ "$#" -gt 0 ]; then
  run_pytest "$@"
  exit $?
fi
# The whole suite in two phases on this 2-core machine: everything that runs in-process on both cores
# (xdist), then the suites that start whole Airflow deployments of their own (the live demo, the
# distributed stack, the wheel in a fresh virtualenv) one after the other, so they never compete.
status=0
run_pytest -n 2 -m "not live and not stack and not wheel" || status=$?
run_pytest -m "live or stack or wheel" || status=$?
exit "$status"
