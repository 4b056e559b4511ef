#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium: the browser tests drive it with Playwright
# (Playwright's own browser download cannot reach its host from here, and is not needed).
# Idempotent: does nothing when it is already installed.
set -euo pipefail

BROWSER=/usr/bin/chromium
[ -x "$BROWSER" ] && exit 0
bash "$(dirname "$0")/apt-install.sh" ensure-chromium chromium fonts-dejavu-core
[ -x "$BROWSER" ] || {
    echo "ensure-chromium: $BROWSER is still missing after the install" >&2
    exit 1
}
