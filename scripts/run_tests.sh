#!/usr/bin/env bash
# Runs the whole test suite of an already built tree (scripts/setup.sh builds it), and fails
# when any test did not run, unless its name says it needs what this machine cannot have:
# a CUDA GPU (tests named *Cuda*). Every other resource a test needs is in the repository.
# Then, unless TAGCLIP_SANITIZE=0, the suite again, built by clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (scripts/run_sanitized_tests.sh, build-sanitize/), and every
# libFuzzer target for TAGCLIP_FUZZ_SECONDS seconds (default 20; 0: none) in that build
# (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${TAGCLIP_BUILD_DIR:-build}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

status=0
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" "$@" 2>&1 | tee "$log" || status=$?
((status == 0)) || exit "$status"

# ctest lists skipped and disabled tests after "The following tests did not run:", one a line:
#   "  12 - ClipTokenizerTest.Foo (Skipped)".
not_run=$(sed -n '/^The following tests did not run:/,/^$/p' "$log" | grep -E '^[[:space:]]*[0-9]+ - ' || true)
unexpected=$(grep -vE '^[[:space:]]*[0-9]+ - [^ ]*Cuda[^ ]* ' <<<"$not_run" | grep -v '^$' || true)
if [[ -n $unexpected ]]; then
  echo "run_tests: these tests did not run; only tests named *Cuda* may skip (no GPU here):" >&2
  echo "$unexpected" >&2
  exit 1
fi
skipped=$(grep -c . <<<"$not_run" || true)
echo "run_tests: $skipped tests skipped (CUDA tests without a GPU), none otherwise" >&2

if [[ ${TAGCLIP_SANITIZE:-1} != 0 ]]; then
  echo "run_tests: the suite under ASan + UBSan (scripts/run_sanitized_tests.sh)" >&2
  scripts/run_sanitized_tests.sh
fi

fuzz_seconds="${TAGCLIP_FUZZ_SECONDS:-20}"
if ((fuzz_seconds > 0)); then
  echo "run_tests: each fuzzer for ${fuzz_seconds} s (scripts/fuzz.sh)" >&2
  scripts/fuzz.sh --seconds "$fuzz_seconds"
fi
