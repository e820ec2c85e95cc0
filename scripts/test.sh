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
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
