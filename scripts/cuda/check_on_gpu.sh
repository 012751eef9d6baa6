#!/usr/bin/env bash
# The GPU acceptance run, in one go: builds the CUDA tagclip (scripts/setup_cuda.sh), runs
# the CUDA parity tests, then the GPU benchmarks (largest image per precision; images per
# second next to the authors' classify.py, and against the batch size and the device list).
# Each step logs to OUT_DIR and a failing step does not stop the later ones, so one run on a
# borrowed machine says everything.
#
# Usage: scripts/cuda/check_on_gpu.sh OUT_DIR [--deps PREFIX|TARBALL] [--reference TAGCLIP_REPO]
#        [--images N]
#   --reference  the authors' repository (for bench/compare_tag_gpu.sh); without it that
#                benchmark is left out
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: scripts/cuda/check_on_gpu.sh OUT_DIR [--deps P] [--reference DIR] [--images N]}
shift
deps_args=() reference="" images=200
while (($#)); do
  case $1 in
    --deps) deps_args=(--deps "$2"); shift 2 ;;
    --reference) reference=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    *) echo "check_on_gpu: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
step() {  # name, command...: runs it, logs to OUT_DIR/name.log, says how it went and how long
  local name=$1 start status
  shift
  start=$(date +%s%N)
  "$@" >"$out/$name.log" 2>&1
  status=$?
  printf '== %-22s exit %d, %d ms\n' "$name" "$status" $((($(date +%s%N) - start) / 1000000))
  tail -n 25 "$out/$name.log" | sed 's/^/   /'
  return $status
}

step machine bash -c 'nvidia-smi; uname -a; grep PRETTY /etc/os-release; ldd --version | head -1;
  g++ --version | head -1; cmake --version | head -1; command -v nvcc ninja; nproc;
  python3 -c "import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda,
  torch.cuda.is_available(), torch.utils.cmake_prefix_path)";
  grep -n "__cplusplus <" "$(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))")"/include/c10/util/C++17.h'
step build scripts/setup_cuda.sh "${deps_args[@]}" --targets "tagclip test_cuda_parity" || {
  grep -m 6 -B 2 -A 8 -E "error|Error" "$out/build.log"  # the first errors, not the last
  find build-cuda -name CMakeError.log -o -name CMakeConfigureLog.yaml | head -1 |
    xargs -r cp -t "$out"
  exit 1
}
# A test that crashes is run again under cuda-gdb for its stack, then the rest run without it.
cuda_tests() {
  local bin=build-cuda/tests/test_cuda_parity excluded="" status crashed
  for _ in 1 2 3 4; do
    "$bin" --gtest_filter="*${excluded:+-$excluded}" 2>&1 | tee "$out/cuda_tests.part"
    status=${PIPESTATUS[0]}
    ((status < 128)) && return "$status"
    crashed=$(grep -o '^\[ RUN      \] [^ ]*' "$out/cuda_tests.part" | tail -n 1 | awk '{print $NF}')
    echo "== $crashed crashed (exit $status); its stack:"
    cuda-gdb -q -batch -ex run -ex bt --args "$bin" --gtest_filter="$crashed" 2>&1 | grep -v '^\[' | tail -n 40
    excluded+="${excluded:+:}$crashed"
  done
  return 1
}
step libraries bash -c 'readelf -d build-cuda/tagclip | grep NEEDED | head -n 4; ldd build-cuda/tagclip | grep -E "opencv|icu|spdlog|fmt|tinyxml|not found"'
step cuda_tests cuda_tests
rm -f "$out/cuda_tests.part"
step cli_parity scripts/cuda/cli_parity.sh build-cuda
[[ ${BENCHMARKS:-1} == 1 ]] || exit 0  # BENCHMARKS=0: the build and the checks only
export TAGCLIP_BUILD_DIR=build-cuda
# One random ViT-B/16-sized checkpoint for both benchmarks.
export TAGCLIP_BENCH_MODEL=${TMPDIR:-/tmp}/tagclip-vit-b16-random.pt
step random_checkpoint build-cuda/tagclip random-checkpoint "$TAGCLIP_BENCH_MODEL" --preset vit-b16
[[ ${LARGEST_IMAGE:-1} == 1 ]] && step largest_image bench/gpu_largest_image.sh 1024 2048 3072 4096 6144 8192
# CPU threads around one GPU: tagclip's per-image work outside the network (DMAR's boxes,
# CWR's regions) runs in LibTorch's CPU pool, where many threads cost more than they give.
threads_ab() {
  local images=${TMPDIR:-/tmp}/tagclip-threads-ab
  rm -rf "$images" && python3 bench/make_voc_sized_images.py "$images" --count 100 --size 500x375
  for threads in 1 4 16; do
    for precision in fp32 bf16; do
      echo -n "threads $threads, $precision: "
      build-cuda/tagclip tag "$images" --model "$TAGCLIP_BENCH_MODEL" --device cuda \
        --precision "$precision" --threads "$threads" --cache-dir "$images.cache" -o /dev/null 2>&1 |
        grep -o '[0-9.]* images/s'
    done
  done
}
if [[ -n $reference ]]; then
  step compare_tag_gpu bench/compare_tag_gpu.sh "$reference" "$images"
fi
step batch_sweep bench/gpu_batch_sweep.sh 300
step threads_ab threads_ab
exit 0
