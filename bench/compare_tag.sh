#!/usr/bin/env bash
# Per-image time of `tagclip tag` (text embeddings cached) and of the authors' classify.py
# (text encoding excluded), same random ViT-B/16-sized checkpoint, same VOC-sized images,
# same thread count, one after the other; prints both and the ratio.
# Usage: bench/compare_tag.sh /path/to/TagCLIP [threads] [images]
# Needs Debian's python3-torch, -torchvision, -opencv, -pil, -regex, -lxml, -tqdm and an
# `ftfy` module on PYTHONPATH (an identity stub is enough: class names are ASCII).
set -euo pipefail
cd "$(dirname "$0")/.."
reference=${1:?usage: bench/compare_tag.sh /path/to/TagCLIP [threads] [images]}
threads=${2:-$(nproc)}
count=${3:-10}
build=${TAGCLIP_BUILD_DIR:-build}
work=${TMPDIR:-/tmp}/tagclip-bench-tag
mkdir -p "$work"
model=$work/vit-b16-random.pt
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
rm -rf "$work/images" && /usr/bin/python3 bench/make_voc_sized_images.py "$work/images" --count "$count"
bpe=${TAGCLIP_BPE:-models/bpe_simple_vocab_16e6.txt.gz}

tag=("$build/tagclip" tag --model "$model" --bpe "$bpe" --cache-dir "$work/cache" --threads "$threads")
"${tag[@]}" "$work/images/000000.jpg" -o /dev/null 2>/dev/null  # fills the text cache
ours_ms=$("${tag[@]}" "$work/images" -o "$work/tags.jsonl" 2>&1 | sed -n 's/.*(\([0-9.]*\) ms\/image).*/\1/p')
echo "tagclip per image: $ours_ms ms ($count images, text embeddings cached, threads $threads)"
ref_line=$(/usr/bin/python3 bench/reference_classify_time.py --reference "$reference" --model "$model" \
  --images "$work/images" --threads "$threads" 2>/dev/null | grep "reference per image")
echo "$ref_line"
ref_ms=$(echo "$ref_line" | sed -n 's/reference per image: \([0-9.]*\) ms.*/\1/p')
awk -v a="$ref_ms" -v b="$ours_ms" 'BEGIN { printf "speed-up (reference time / tagclip time): %.2fx\n", a / b }'
