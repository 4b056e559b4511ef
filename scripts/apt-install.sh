#!/usr/bin/env bash
# Install Debian packages for the project's own scripts: apt-install.sh NAME PACKAGE...
#
# NAME prefixes the error messages. Runs apt-get as root, or through sudo; waits for another
# apt-get's lock (a parallel job, unattended upgrades) instead of failing at once; refreshes the
# package lists only if the first attempt fails without them. Quiet unless it fails.
set -euo pipefail

name=$1
shift

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "$name: $* missing and this user cannot install it (no root, no sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600)
install_packages() {
    "${SUDO[@]}" "${APT[@]}" install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

if ! install_packages "$@"; then
    "${SUDO[@]}" "${APT[@]}" update -qq >/dev/null 2>&1
    if ! install_packages "$@"; then
        echo "$name: could not install $* with apt-get" >&2
        exit 1
    fi
fi
