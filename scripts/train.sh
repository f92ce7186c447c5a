#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds, and runs the
# main job. Extra arguments go to the command.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec "${TERN_BUILD_DIR:-build}"/tools/tern/tern bench codec "$@"
