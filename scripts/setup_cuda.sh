#!/usr/bin/env bash
# Builds tagclip against a CUDA LibTorch (upstream LibTorch 2.x, or the one inside a pip
# `torch`) in build-cuda/. The CPU build (scripts/setup.sh, Debian's LibTorch 1.13) stays
# the default; this one adds --device cuda and fp16.
#
# Usage: scripts/setup_cuda.sh [--libtorch DIR] [--deps PREFIX|TARBALL] [--targets "T..."]
#   --libtorch DIR   an unpacked LibTorch (the folder holding share/cmake/Torch); default:
#                    the LibTorch of `python3 -c 'import torch'` (torch.utils.cmake_prefix_path)
#   --deps P         OpenCV, CLI11, nlohmann_json, spdlog, ICU, tinyxml2 and GoogleTest from a
#                    prefix made by scripts/cuda/make_deps_prefix.sh (a folder, or its
#                    deps.tar.xz, unpacked into the build folder), for a machine that has no
#                    such packages and no network; default: the system's (apt: see setup.sh)
#   --targets "..."  what to build (default: everything; e.g. "tagclip test_cuda_parity")
#   TAGCLIP_BUILD_DIR=dir builds elsewhere (default build-cuda); PYTHON=... picks the python.
# Needs CMake >= 3.18, a C++17 compiler and the CUDA toolkit LibTorch was built with (nvcc).
set -euo pipefail
cd "$(dirname "$0")/.."

libtorch="" deps="" targets=""
while (($#)); do
  case $1 in
    --libtorch) libtorch=${2:?--libtorch needs a folder}; shift 2 ;;
    --deps) deps=${2:?--deps needs a prefix or tarball}; shift 2 ;;
    --targets) targets=${2:?--targets needs names}; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "setup_cuda: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
build_dir=${TAGCLIP_BUILD_DIR:-build-cuda}
python=${PYTHON:-python3}

if [[ -z $libtorch ]]; then
  libtorch=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
    echo "setup_cuda: no --libtorch given and '$python' has no torch" >&2
    exit 2
  }
fi
[[ -d $libtorch ]] || { echo "setup_cuda: $libtorch: no such folder" >&2; exit 2; }

hints=()
if [[ -n $deps ]]; then
  if [[ -f $deps ]]; then  # the bundle's tarball: unpack once into the build folder
    mkdir -p "$build_dir/deps"
    [[ -f $build_dir/deps/.unpacked ]] || { tar -xJf "$deps" -C "$build_dir/deps" && touch "$build_dir/deps/.unpacked"; }
    deps=$build_dir/deps/prefix
  fi
  [[ -d $deps/include ]] || { echo "setup_cuda: $deps: not a prefix (no include/)" >&2; exit 2; }
  deps=$(cd "$deps" && pwd)
  # The prefix comes first, so its packages win over any the system has.
  hints+=(-DICU_ROOT="$deps" -DZLIB_ROOT="$deps" -DCMAKE_PREFIX_PATH="$deps;$libtorch")
  # Named one by one as well: a CMake that does not know Debian's lib/x86_64-linux-gnu
  # (on a distribution of another family) would not look there.
  lib=$deps/lib/x86_64-linux-gnu
  hints+=(-DOpenCV_DIR="$lib/cmake/opencv4" -Dspdlog_DIR="$lib/cmake/spdlog"
          -Dfmt_DIR="$lib/cmake/fmt" -DGTest_DIR="$lib/cmake/GTest"
          -Dtinyxml2_DIR="$lib/cmake/tinyxml2" -DCLI11_DIR="$deps/share/cmake/CLI11"
          -Dnlohmann_json_DIR="$deps/share/cmake/nlohmann_json"
          -DICU_INCLUDE_DIR="$deps/include" -DICU_UC_LIBRARY_RELEASE="$lib/libicuuc.so"
          -DICU_I18N_LIBRARY_RELEASE="$lib/libicui18n.so"
          -DZLIB_INCLUDE_DIR="$deps/include" -DZLIB_LIBRARY_RELEASE="$lib/libz.a")
  # The bundle's shared libraries (spdlog, fmt, ICU, tinyxml2) load each other: DT_RPATH,
  # unlike DT_RUNPATH, also serves those indirect loads, so no LD_LIBRARY_PATH is needed.
  hints+=(-DCMAKE_EXE_LINKER_FLAGS="-Wl,--disable-new-dtags")
else
  hints+=(-DCMAKE_PREFIX_PATH="$libtorch")
fi
# A LibTorch whose headers demand C++20 gets it (tagclip itself needs C++17).
# (An unpacked LibTorch keeps them in include/; pip's torch/share/cmake has them in ../../include.)
if grep -qs "__cplusplus < 202002L" {"$libtorch","$libtorch/../.."}/include/c10/{util/C++17.h,macros/Macros.h}; then
  hints+=(-DCMAKE_CXX_STANDARD=20)
fi
# LibTorch's CMake files look for the CUDA toolkit; help them where nvcc is not on PATH.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  hints+=(-DCUDAToolkit_ROOT=/usr/local/cuda -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi
# CMake 4 refuses packages whose config files still ask for policies older than 3.5
# (bookworm's are from CMake 3.25, but a system's may be older); older CMakes ignore this.
hints+=(-DCMAKE_POLICY_VERSION_MINIMUM=3.5)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${hints[@]}"
grep -q "TAGCLIP_HAVE_CUDA:INTERNAL=1" "$build_dir/CMakeCache.txt" ||
  echo "setup_cuda: warning: this LibTorch has no CUDA; the build will be CPU-only" >&2
read -r -a target_args <<<"${targets:+--target $targets}"
cmake --build "$build_dir" -j"$(nproc)" "${target_args[@]}"
echo "setup_cuda: built $build_dir/tagclip" >&2
"$build_dir/tagclip" --version >&2
