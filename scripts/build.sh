#!/usr/bin/env bash
# Configures and builds tern in ./build (Release, Ninja). Extra arguments go
# to CMake's configure step, e.g. scripts/build.sh -DTERN_SANITIZE=address.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${TERN_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# Two jobs: a torch translation unit needs about 1.5 GB of compiler memory.
cmake --build "$build_dir" -j "${TERN_JOBS:-2}"
