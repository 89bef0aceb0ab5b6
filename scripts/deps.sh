#!/usr/bin/env bash
# Installs the Debian packages llmux needs to build and test, when missing.
# Idempotent and quiet when everything is present. Run as root (or with sudo).
set -euo pipefail

PKGS=(
  build-essential pkg-config clang libclang-rt-14-dev llvm
  libuv1-dev libcurl4-openssl-dev libjansson-dev libfyaml-dev libmicrohttpd-dev
  libsqlite3-dev libvectorscan-dev libedit-dev libcriterion-dev
  python3 curl ca-certificates wrk
)
# Node.js and npm (client SDK tests, tests/clients) are handled below, not in
# this list: a machine with NodeSource's nodejs already has npm, and Debian's
# npm package conflicts with it.

missing=()
if ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
