#!/usr/bin/env bash
# Installs tagclip's build dependencies from Debian's archive and builds it in build/.
# Usage: scripts/setup.sh            (as root, or with sudo available)
#   TAGCLIP_SKIP_APT=1 scripts/setup.sh   to build only
#   TAGCLIP_BUILD_DIR=dir               to build elsewhere (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libtorch-dev libopencv-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev
  zlib1g-dev libicu-dev libtinyxml2-dev
  # Without OpenBLAS Debian's LibTorch multiplies matrices with the reference BLAS (~15x slower).
  libopenblas0-pthread
  # The cluster test starts a single-node Slurm on localhost (tests/cluster/).
  slurmctld slurmd slurm-client munge iproute2 procps
  # The libFuzzer targets (scripts/fuzz.sh, run briefly by scripts/run_tests.sh).
  clang libclang-rt-14-dev bc
)

if [[ "${TAGCLIP_SKIP_APT:-0}" != 1 ]]; then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    # Another install (unattended-upgrades, a second setup.sh) holds dpkg's lock: wait for it
    # instead of failing.
    apt_wait=(-o DPkg::Lock::Timeout=900)
    "${sudo_cmd[@]}" apt-get "${apt_wait[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get "${apt_wait[@]}" install -y -qq \
      --no-install-recommends "${missing[@]}"
  else
    echo "setup: Debian packages already installed" >&2
  fi
fi

build_dir="${TAGCLIP_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built $build_dir/tagclip" >&2
