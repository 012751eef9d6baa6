#!/usr/bin/env bash
# Per-image time of `tagclip tag` in fp32 and bf16 (text embeddings cached) next to the
# authors' classify.py (text encoding excluded), same random ViT-B/16-sized checkpoint,
# same images, same thread count, one after the other at each size; then the share of
# images whose bf16 tag set equals fp32's, and tagclip's stage profile per precision.
#
# The authors' code runs twice: as shipped, and "tuned" with the two fixes tagclip makes
# for itself that a user of their code could also make (denormals flushed;
# OPENBLAS_CORETYPE=SkylakeX where OpenBLAS misreads the CPU), so the ratios say how much
# comes from each.
#
# Usage: bench/compare_tag.sh /path/to/TagCLIP [threads] [images per size] [WxH...]
# Needs Debian's python3-torch, -torchvision, -opencv, -pil, -regex, -lxml, -tqdm and an
# `ftfy` module on PYTHONPATH (an identity stub is enough: class names are ASCII).
set -euo pipefail
cd "$(dirname "$0")/.."
reference=${1:?usage: bench/compare_tag.sh /path/to/TagCLIP [threads] [images] [WxH...]}
threads=${2:-$(nproc)}
count=${3:-2}
shift $(($# < 3 ? $# : 3))
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(320x240 500x375 640x480)
build=${TAGCLIP_BUILD_DIR:-build}
work=${TMPDIR:-/tmp}/tagclip-bench-tag
mkdir -p "$work"
model=$work/vit-b16-random.pt
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
bpe=${TAGCLIP_BPE:-models/bpe_simple_vocab_16e6.txt.gz}
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min); $(nproc) cores"

tag=("$build/tagclip" tag --model "$model" --bpe "$bpe" --cache-dir "$work/cache" --threads "$threads")
# Fills the text cache, so the timed runs measure images only.
/usr/bin/python3 bench/make_voc_sized_images.py "$work/warm" --count 1 >/dev/null
"${tag[@]}" "$work/warm" -o /dev/null 2>/dev/null

ms_of() { sed -n 's/.*(\([0-9.]*\) ms\/image).*/\1/p'; }
reference_ms() {  # folder, extra arguments
  local folder=$1
  shift
  /usr/bin/python3 bench/reference_classify_time.py --reference "$reference" --model "$model" \
    --images "$folder" --threads "$threads" --text-cache "$work/reference-text-voc.pt" "$@" \
    2>/dev/null | sed -n 's/reference per image: \([0-9.]*\) ms.*/\1/p'
}

printf '%-9s %12s %12s %10s %10s %9s %9s %9s %9s\n' size "authors" "authors-tuned" fp32 bf16 \
  "fp32/auth" "bf16/auth" "fp32/tuned" "bf16/tuned"
: >"$work/all-fp32.jsonl"
: >"$work/all-bf16.jsonl"
for size in "${sizes[@]}"; do
  images=$work/images-$size
  rm -rf "$images" && /usr/bin/python3 bench/make_voc_sized_images.py "$images" --count "$count" --size "$size"
  declare -A ours=()
  for precision in fp32 bf16; do
    "${tag[@]}" --precision "$precision" --profile "$images" -o "$work/$size-$precision.jsonl" \
      2>"$work/$size-$precision.log"
    ours[$precision]=$(ms_of <"$work/$size-$precision.log")
    cat "$work/$size-$precision.jsonl" >>"$work/all-$precision.jsonl"
  done
  authors=$(reference_ms "$images")
  tuned=$(OPENBLAS_CORETYPE=SkylakeX reference_ms "$images" --flush-denormal)
  awk -v s="$size" -v a="$authors" -v t="$tuned" -v f="${ours[fp32]}" -v b="${ours[bf16]}" \
    'BEGIN { printf "%-9s %10.0f ms %10.0f ms %7.0f ms %7.0f ms %8.2fx %8.2fx %8.2fx %8.2fx\n",
             s, a, t, f, b, a / f, a / b, t / f, t / b }'
done
echo "(ms per image, $count images per size, $threads threads; ratios: the authors' time / tagclip's)"
echo -n "bf16 against fp32 on these images: "
/usr/bin/python3 bench/tag_agreement.py "$work/all-fp32.jsonl" "$work/all-bf16.jsonl"
for precision in fp32 bf16; do
  echo "tagclip stage profile at ${sizes[-1]}, $precision:"
  sed -n '/^stage /,$p' "$work/${sizes[-1]}-$precision.log"
done
