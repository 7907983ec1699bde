#!/usr/bin/env bash
# One-command setup for a fresh machine: ivif with every extra and the test tools, PyTorch CPU 2.13,
# and (when apt is available and we are root) Debian's Chromium for the HTML-report test.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install torch==2.13.0 -e ".[all,test]"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: chromium could not be installed; the HTML rendering test will be skipped" >&2
  else
    echo "setup: install Chromium (apt-get install chromium) to run the HTML rendering test" >&2
  fi
fi
