#!/usr/bin/env bash
# `make image`: build the service's image as provider-accounts:latest (or $IMAGE).
#
# BASE_IMAGE=python:3.11-slim for a real build; without it the base is made from Debian
# packages (Docker Hub is unreachable here). Builds with the host's network so pip reaches PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
IMAGE="${IMAGE:-provider-accounts:latest}"
BASE_IMAGE="${BASE_IMAGE:-$(bash scripts/debian-base-image.sh)}"

started=$(date +%s)
docker build --quiet --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" --tag "$IMAGE" . >/dev/null
size=$(docker image inspect --format '{{.Size}}' "$IMAGE")
echo "built $IMAGE on $BASE_IMAGE in $(( $(date +%s) - started )) s: $(( size / 1000000 )) MB"
