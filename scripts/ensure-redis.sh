#!/usr/bin/env bash
# Make sure `redis-server` is on PATH: the multi-instance tests start a throwaway one.
#
# Idempotent and quiet: does nothing when redis-server is already installed; otherwise installs
# Debian's package (as root, or through sudo), refreshing the package lists only if the first
# attempt fails without them.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "ensure-redis: redis-server is missing and this user cannot install it (no root, no sudo)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
install_redis() {
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1
}

if ! install_redis; then
    "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1
    if ! install_redis; then
        echo "ensure-redis: could not install redis-server with apt-get" >&2
        exit 1
    fi
fi

command -v redis-server >/dev/null 2>&1 || {
    echo "ensure-redis: redis-server is still missing after the install" >&2
    exit 1
}
