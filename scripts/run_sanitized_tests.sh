#!/usr/bin/env bash
# Builds the project and its whole test suite with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (leak detection on) in build-sanitize/, the folder that also
# holds the fuzzers (scripts/fuzz.sh), and runs the suite there: an out-of-bounds access, a
# use after free, a leak or undefined behaviour in tagclip's code fails the test that did it.
# LibTorch, OpenCV and the other Debian libraries are not instrumented; their bugs are out of
# reach, their calls into freed or overrun memory of ours are not.
#   scripts/run_sanitized_tests.sh [ctest options...]
# Three tests are left to the plain suite alone (scripts/run_tests.sh): the Slurm test starts
# daemons for minutes to run the same binary; the installed-package test builds an example
# with the system's default compiler, which cannot link a clang-sanitized library; the
# allocation-failure test caps the address space with `ulimit -v`, and AddressSanitizer
# reserves terabytes of it for its shadow memory before main.
# The demo model's quality floors (DemoQuality, DemoSegmentationQuality, the bf16 tags test)
# are left out too: they assert figures, not memory safety, and run the eval, segment and
# eval-seg paths that the command tests run here already; under the sanitizers they took
# about 8 of CI's 90 minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${TAGCLIP_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
cd "$root"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DTAGCLIP_FUZZ=ON -DTAGCLIP_BUILD_TESTS=ON \
  -DTAGCLIP_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build.configure.log"
start=$(date +%s)
cmake --build "$build" -j "$(nproc)" > "$build.build.log" 2>&1 ||
  { tail -30 "$build.build.log" >&2; exit 1; }
echo "run_sanitized_tests: built $build in $(($(date +%s) - start)) s" >&2

# halt_on_error: a test fails at its first report; leaks are reported when a process exits.
# exitcode 86: a tagclip process the tests start, stopped by a report, never passes for one of
# the exit codes the tests expect (1 is "some images failed").
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
export LSAN_OPTIONS="suppressions=$root/tests/sanitizer/lsan.supp:print_suppressions=0:exitcode=86"
TAGCLIP_BUILD_DIR="$build" TAGCLIP_SANITIZE=0 TAGCLIP_FUZZ_SECONDS=0 scripts/run_tests.sh \
  -E '^SlurmArray\.|^InstalledPackage\.|^TagLargeImages\.AllocationFailureIsOneErrorRecord$|^DemoQuality\.|^DemoSegmentationQuality\.|^Precision\.BFloat16KeepsTheDemoModelsTags$' "$@"
