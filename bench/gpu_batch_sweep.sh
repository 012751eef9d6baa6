#!/usr/bin/env bash
# Images per second of `tagclip tag --device cuda` against the batch size (--batch-size)
# and the device list, on VOC-sized images (two thirds 500x375, one third 375x500, in turn,
# as bench/make_voc_sized_images.py writes them) and a random ViT-B/16-sized checkpoint.
# Then: whether three workers on the GPU's model (--device cuda:0,cuda:0,cuda:0) give the
# records of the default two, byte for byte, and how much faster; and whether batches that
# do not fit in GPU memory fall back to one image at a time (every image still tagged).
#
# Usage: bench/gpu_batch_sweep.sh [images] [batch...]   (TAGCLIP_BUILD_DIR, default build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-400}
shift $(($# < 1 ? $# : 1))
batches=("$@")
[[ ${#batches[@]} -gt 0 ]] || batches=(1 8 32 64)
build=${TAGCLIP_BUILD_DIR:-build-cuda}
python=${PYTHON:-python3}
device=${TAGCLIP_BENCH_DEVICE:-cuda}  # cpu: to try the script on a machine without a GPU
work=${TMPDIR:-/tmp}/tagclip-bench-batch
mkdir -p "$work"
model=${TAGCLIP_BENCH_MODEL:-$work/vit-b16-random.pt}
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
bpe=${TAGCLIP_BPE:-models/bpe_simple_vocab_16e6.txt.gz}
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); $(nproc) cores"
rm -rf "$work/images" && "$python" bench/make_voc_sized_images.py "$work/images" --count "$count"
tag=("$build/tagclip" tag "$work/images" --model "$model" --bpe "$bpe" --cache-dir "$work/cache")
rate_of() { sed -n 's/.*, \([0-9.]*\) images\/s (.*/\1/p'; }
for precision in fp32 fp16 bf16; do  # fills the text cache, warms the GPU
  "${tag[@]}" --device "$device" --precision "$precision" --batch-size 8 -o /dev/null 2>/dev/null
done

printf '%-6s' batch && printf ' %9s' fp32 fp16 bf16 && echo
for batch in "${batches[@]}"; do
  printf '%-6s' "$batch"
  for precision in fp32 fp16 bf16; do
    printf ' %9s' "$("${tag[@]}" --device "$device" --precision "$precision" --batch-size "$batch" \
      -o "$work/b$batch-$precision.jsonl" 2>&1 | rate_of)"
  done
  echo
done
echo "(images per second, $count images; tagclip on the default CPU threads)"
for batch in "${batches[@]}"; do
  echo -n "bf16 batches of $batch against bf16 one at a time: "
  "$python" bench/tag_agreement.py "$work/b${batches[0]}-bf16.jsonl" "$work/b$batch-bf16.jsonl"
done

if [[ $device == cuda ]]; then
  # --device cuda already has two workers on its one model; a device named three times
  # has three.
  three=cuda:0,cuda:0,cuda:0
  echo -n "bf16, batches of 32, --device $three: "
  "${tag[@]}" --device "$three" --precision bf16 --batch-size 32 -o "$work/three.jsonl" 2>&1 |
    rate_of || true
  if cmp -s "$work/b32-bf16.jsonl" "$work/three.jsonl"; then
    echo "  same records, byte for byte, as --device cuda"
  else
    echo "  RECORDS DIFFER from --device cuda"
  fi
  echo -n "bf16, batches of 32, --device cuda:all: "
  "${tag[@]}" --device cuda:all --precision bf16 --batch-size 32 -o /dev/null 2>&1 | rate_of || true
fi

echo "stage profile, bf16, batches of 32 (a separate run):"
"${tag[@]}" --device "$device" --precision bf16 --batch-size 32 --profile -o /dev/null 2>&1 |
  sed -n '/^stage /,$p' || true
[[ ${OVERSIZED:-1} == 1 ]] || exit 0  # OVERSIZED=0: leave the out-of-memory batch out
# Six 2048x2048 images in one batch hold six 16384x16384 attention maps per head at once,
# more than a GPU has: the batch must fall back to one image at a time and tag all six.
rm -rf "$work/big" && "$python" bench/make_voc_sized_images.py "$work/big" --count 6 --size 2048x2048
echo "six 2048x2048 images in one batch of 6, fp32:"
"$build/tagclip" --log-level debug tag "$work/big" --model "$model" --bpe "$bpe" \
  --cache-dir "$work/cache" --device "$device" --max-side none --batch-size 6 \
  -o "$work/big.jsonl" 2>&1 | grep -E "one at a time|images/s" || true
echo "  records with tags: $(grep -c '"tags"' "$work/big.jsonl") of 6"

