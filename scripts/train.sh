#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds, and runs the
# main job, `tern train` (4 local workers, CNN on Fashion-MNIST, DiLoCo with
# int8; docs/train.md). Extra arguments go to `tern train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec "${TERN_BUILD_DIR:-build}"/tools/tern/tern train "$@"
