#!/usr/bin/env bash
# Images per second of `tagclip tag --device cuda` in fp32 (TF32 off), fp16 and bf16 next to
# the authors' classify.py on the same GPU, same random ViT-B/16-sized checkpoint, same
# VOC-sized images, one after the other at each size; then the share of images whose fp16
# and bf16 tag sets equal fp32's. Text embeddings are cached (tagclip) or their time is
# subtracted (the authors'), so both figures are the images' own.
#
# The authors' code on a GPU runs OpenAI's float16 weights (clip.load converts them for
# CUDA), so "fp16/authors" compares like with like and "fp32/authors" gives away precision.
#
# Usage: bench/compare_tag_gpu.sh /path/to/TagCLIP [images per size] [WxH...]
# Needs a CUDA build (scripts/setup_cuda.sh; TAGCLIP_BUILD_DIR, default build-cuda) and a
# python3 with torch, torchvision, opencv, pillow, regex, lxml and tqdm, plus an `ftfy`
# module on PYTHONPATH (an identity stub is enough: class names are ASCII).
set -euo pipefail
cd "$(dirname "$0")/.."
reference=${1:?usage: bench/compare_tag_gpu.sh /path/to/TagCLIP [images] [WxH...]}
count=${2:-100}
shift $(($# < 2 ? $# : 2))
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(500x375 375x500 500x333)
build=${TAGCLIP_BUILD_DIR:-build-cuda}
python=${PYTHON:-python3}
device=${TAGCLIP_BENCH_DEVICE:-cuda}  # cpu: to try the script on a machine without a GPU
work=${TMPDIR:-/tmp}/tagclip-bench-tag-gpu
mkdir -p "$work"
model=${TAGCLIP_BENCH_MODEL:-$work/vit-b16-random.pt}
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
bpe=${TAGCLIP_BPE:-models/bpe_simple_vocab_16e6.txt.gz}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); $(nproc) cores"

tag=("$build/tagclip" tag --model "$model" --bpe "$bpe" --cache-dir "$work/cache" --device "$device")
"$python" bench/make_voc_sized_images.py "$work/warm" --count 1 >/dev/null
for precision in fp32 fp16 bf16; do  # fills the text cache for each precision
  "${tag[@]}" --precision "$precision" "$work/warm" -o /dev/null 2>/dev/null
done

rate_of() { sed -n 's/.*, \([0-9.]*\) images\/s (.*/\1/p'; }
reference_rate() {
  "$python" bench/reference_classify_time.py --reference "$reference" --model "$model" \
    --images "$1" --device "$device" --text-cache "$work/reference-text-voc.pt" 2>/dev/null |
    sed -n 's/reference per image: \([0-9.]*\) ms.*/\1/p' | awk '{ printf "%.1f", 1000 / $1 }'
}

printf '%-9s %9s %9s %9s %9s %12s %12s\n' size authors fp32 fp16 bf16 fp32/authors fp16/authors
for precision in fp32 fp16 bf16; do : >"$work/all-$precision.jsonl"; done
for size in "${sizes[@]}"; do
  images=$work/images-$size
  rm -rf "$images" && "$python" bench/make_voc_sized_images.py "$images" --count "$count" --size "$size"
  declare -A ours=()
  for precision in fp32 fp16 bf16; do
    "${tag[@]}" --precision "$precision" "$images" -o "$work/$size-$precision.jsonl" \
      2>"$work/$size-$precision.log"
    ours[$precision]=$(rate_of <"$work/$size-$precision.log")
    cat "$work/$size-$precision.jsonl" >>"$work/all-$precision.jsonl"
  done
  authors=$(reference_rate "$images")
  awk -v s="$size" -v a="$authors" -v f="${ours[fp32]}" -v h="${ours[fp16]}" -v b="${ours[bf16]}" \
    'BEGIN { printf "%-9s %9.1f %9.1f %9.1f %9.1f %11.2fx %11.2fx\n", s, a, f, h, b, f / a, h / a }'
done
echo "(images per second, $count images per size; tagclip with its defaults beside a GPU: batches of 32, one CPU thread)"
for precision in fp16 bf16; do
  echo -n "$precision against fp32 on these images: "
  "$python" bench/tag_agreement.py "$work/all-fp32.jsonl" "$work/all-$precision.jsonl"
done
# Profiled apart from the timed runs: with --profile on a GPU every stage waits for its
# kernels, which costs time of its own.
for precision in fp32 bf16; do
  echo "tagclip stage profile at ${sizes[-1]}, $precision (a separate run):"
  "${tag[@]}" --precision "$precision" --profile "$work/images-${sizes[-1]}" -o /dev/null 2>&1 |
    sed -n '/^stage /,$p'
done
