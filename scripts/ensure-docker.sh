#!/usr/bin/env bash
# Make sure a Docker engine answers: the image test builds and runs the service's container.
#
# Idempotent: does nothing when `docker info` already works. Otherwise installs Debian's
# docker.io (and debootstrap, for the local base image) when missing, and starts dockerd as root
# in the background, logging to .local/dockerd.log. Exits non-zero with the reason when no engine
# can run here; the image test then reports itself skipped with that reason.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local

if docker info >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-docker: no Docker engine answers and only root can start one here" >&2
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    bash scripts/apt-install.sh ensure-docker docker.io debootstrap
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
    nohup dockerd >.local/dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.5
done
echo "ensure-docker: dockerd did not answer within 30 s; last lines of .local/dockerd.log:" >&2
tail -n 5 .local/dockerd.log >&2 || true
exit 1
