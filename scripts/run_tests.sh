#!/usr/bin/env bash
# Runs the whole test suite of an already built tree (scripts/setup.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${TAGCLIP_BUILD_DIR:-build}"
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" "$@"
