#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium: the browser tests drive it with Playwright
# (Playwright's own browser download cannot reach its host from here, and is not needed).
#
# Idempotent and quiet: does nothing when it is installed; otherwise installs Debian's package
# (as root, or through sudo), refreshing the package lists only if the first attempt fails.
set -euo pipefail

BROWSER=/usr/bin/chromium
if [ -x "$BROWSER" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "ensure-chromium: $BROWSER is missing and this user cannot install it (no root, no sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt-get (a parallel job, unattended upgrades) instead of failing at once.
APT=(apt-get -o DPkg::Lock::Timeout=600)
install_chromium() {
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1
}

if ! install_chromium; then
    "${SUDO[@]}" "${APT[@]}" update -qq >/dev/null 2>&1
    if ! install_chromium; then
        echo "ensure-chromium: could not install chromium with apt-get" >&2
        exit 1
    fi
fi

[ -x "$BROWSER" ] || {
    echo "ensure-chromium: $BROWSER is still missing after the install" >&2
    exit 1
}
