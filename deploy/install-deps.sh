#!/usr/bin/env bash
# Installs everything vidserve needs to build, test and serve on Debian 12 / Ubuntu 24.04.
# Idempotent: packages already present are skipped by apt. Uses sudo when not root.
# Also used by the Dockerfile. Set VIDSERVE_DEPS_MINIMAL=1 to skip test-only packages.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-pthread
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev prometheus-cpp-dev libcpp-httplib-dev nlohmann-json3-dev
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
)
TEST_PKGS=(
  libgtest-dev libgmock-dev
  prometheus python3 python3-grpcio python3-protobuf python3-yaml curl nodejs npm
)

want=("${BUILD_PKGS[@]}")
if [ "${VIDSERVE_DEPS_MINIMAL:-0}" != 1 ]; then want+=("${TEST_PKGS[@]}"); fi

missing=()
for p in "${want[@]}"; do
  # node/npm may come from elsewhere (e.g. a newer Node on the image); accept the command.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#want[@]} packages present"
fi
