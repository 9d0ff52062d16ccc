#!/usr/bin/env bash
# The browser test drives Debian's Chromium (no browser download from the test tool). Installs it
# with apt-get when it is missing and this runs as root (as on CI); prints the binary's path.
set -euo pipefail
for bin in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$bin" ] && [ -x "$bin" ]; then
    echo "$bin"
    exit 0
  fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: Chromium is not installed; install Debian's chromium package (or set CHROMIUM_PATH)" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium package (once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
echo /usr/bin/chromium
