#!/usr/bin/env bash
# Quick start, second command: installs what is missing, builds, and runs
# every test except those labelled `slow` (run those with
# `ctest --test-dir build -L slow`). Used by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
ctest --test-dir "${TERN_BUILD_DIR:-build}" -LE slow --output-on-failure -j 2 "$@"
