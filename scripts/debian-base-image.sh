#!/usr/bin/env bash
# Build (once) a python:3.11-slim stand-in from Debian packages: Docker Hub is unreachable here.
#
# Debian bookworm's python3 is 3.11; a venv at /opt/venv, first on PATH, gives `python` and
# `pip` as the official slim image does. The host's CA bundle goes in so pip inside the build
# trusts what the host trusts. The debootstrap tree is cached as a tarball under
# ${XDG_CACHE_HOME:-~/.cache}/provider-accounts, so a fresh Docker engine re-imports it in seconds.
# Prints the image's name.
set -euo pipefail

IMAGE="${BASE_IMAGE_NAME:-provider-accounts-base:bookworm}"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/provider-accounts"
TARBALL="$CACHE_DIR/debian-bookworm-python.tar"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "$IMAGE"
    exit 0
fi

if [ ! -s "$TARBALL" ]; then
    mkdir -p "$CACHE_DIR"
    ROOTFS="$(mktemp -d)"
    trap 'rm -rf "$ROOTFS"' EXIT
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$ROOTFS" http://deb.debian.org/debian >&2
    chroot "$ROOTFS" python3 -m venv /opt/venv
    cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    tar -C "$ROOTFS" -cf "$TARBALL.partial" .
    mv "$TARBALL.partial" "$TARBALL"
fi

docker import \
    --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python"]' \
    "$TARBALL" "$IMAGE" >/dev/null
echo "$IMAGE"
