#!/usr/bin/env bash
# Make sure `redis-server` is on PATH: the multi-instance tests start a throwaway one.
# Idempotent: does nothing when it is already installed.
set -euo pipefail

command -v redis-server >/dev/null 2>&1 && exit 0
bash "$(dirname "$0")/apt-install.sh" ensure-redis redis-server
command -v redis-server >/dev/null 2>&1 || {
    echo "ensure-redis: redis-server is still missing after the install" >&2
    exit 1
}
