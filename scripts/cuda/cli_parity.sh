#!/usr/bin/env bash
# `tagclip tag` on the GPU against the CPU, through the command line: the committed demo
# model on the 200 test images of the synthetic benchmark, float32 on the CPU as the
# reference, then float32 (TF32 off), float16 and bfloat16 on CUDA. Prints, per precision,
# how many images keep the CPU's tag set and the largest score difference
# (bench/tag_agreement.py). The CUDA parity tests (tests/test_cuda_parity.cpp) assert the
# same on the same images; this shows it end to end, output files included.
#
# Usage: scripts/cuda/cli_parity.sh [BUILD_DIR]   (default build-cuda)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-cuda}
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/tagclip-cli-parity.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=tests/data/synthetic_voc
sed "s#.*#$root/JPEGImages/&.jpg#" "$root/ImageSets/Main/test.txt" >"$work/images.txt"
tag=("$build/tagclip" tag "@$work/images.txt" --model models/demo-clip.pt
     --classes models/demo_classes.txt --cache-dir "$work/cache" -q)
"${tag[@]}" --device cpu -o "$work/cpu-fp32.jsonl"
for precision in fp32 fp16 bf16; do
  "${tag[@]}" --device cuda --precision "$precision" -o "$work/cuda-$precision.jsonl"
  echo -n "cuda $precision against cpu fp32: "
  "$python" bench/tag_agreement.py "$work/cpu-fp32.jsonl" "$work/cuda-$precision.jsonl"
done
