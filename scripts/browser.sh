#!/usr/bin/env bash
# Makes headless Chromium available for the browser test (Debian's package; Playwright drives it).
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) && exit 0
fi
echo "Chromium is not available and could not be installed; the browser test will be skipped with this reason." >&2
exit 1
