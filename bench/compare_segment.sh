#!/usr/bin/env bash
# Per-image time of `tagclip segment` (maps; maps, masks and CRF) and `tagclip eval-seg
# --with-crf`, next to the authors' CLIP-ES CAM generation and CRF, on the same random
# ViT-B/16-sized checkpoint, the same images and labels, one after the other, at several
# image sizes. The CRF runs on one core on both sides (the authors' crf() with one job).
# Usage: bench/compare_segment.sh /path/to/TagCLIP [threads] [images per size] [WxH...]
# Needs Debian's python3-torch, -torchvision, -opencv, -pil, -regex, -joblib and pydensecrf
# (built from its public source) on PYTHONPATH. Check that the machine is quiet first.
set -euo pipefail
cd "$(dirname "$0")/.."
reference=${1:?usage: bench/compare_segment.sh /path/to/TagCLIP [threads] [images] [WxH...]}
threads=${2:-$(nproc)}
count=${3:-4}
shift $(($# < 3 ? $# : 3))
sizes=("$@")
((${#sizes[@]})) || sizes=(320x240 500x375 640x480)
build=${TAGCLIP_BUILD_DIR:-build}
work=${TMPDIR:-/tmp}/tagclip-bench-segment
mkdir -p "$work"
model=$work/vit-b16-random.pt
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
bpe=${TAGCLIP_BPE:-models/bpe_simple_vocab_16e6.txt.gz}
per_image() { sed -n 's/.*(\([0-9.]*\) ms\/image).*/\1/p'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "size | tagclip maps | reference maps | speed-up | tagclip CRF | reference CRF | speed-up"
for size in "${sizes[@]}"; do
  images=$work/images-$size
  rm -rf "$images" "$work/out" && mkdir -p "$work/out"
  /usr/bin/python3 bench/make_voc_sized_images.py "$images" --count "$count" --size "$size"
  # Two labels an image (person, dog), the CLIP-ES path a TagCLIP run would take.
  labels=$work/labels-$size.txt
  for f in "$images"/*.jpg; do echo "$(basename "$f" .jpg) 14 11"; done > "$labels"
  # eval-seg and crf() read ground truth: all background, the time does not depend on it.
  mkdir -p "$work/out/gt"
  /usr/bin/python3 -c "import os, sys; from PIL import Image; import numpy as np
for f in os.listdir(sys.argv[1]):
    size = Image.open(os.path.join(sys.argv[1], f)).size
    Image.fromarray(np.zeros(size[::-1], np.uint8)).save(os.path.join(sys.argv[2], f[:-4] + '.png'))
" "$images" "$work/out/gt"
  seg=("$build/tagclip" segment --model "$model" --bpe "$bpe" --threads "$threads" --classes voc
       --labels "$labels" --image-root "$images")
  maps_ms=$("${seg[@]}" --cams-out "$work/out/cams" 2>&1 >/dev/null | per_image)
  crf_ms=$("$build/tagclip" eval-seg --predictions "$work/out/cams" --gt-root "$work/out/gt" \
    --split-file "$labels" --dataset voc --with-crf --image-root "$images" --threads 1 \
    2>&1 >/dev/null | per_image)
  ref=$(/usr/bin/python3 bench/reference_segment_time.py --reference "$reference" --model "$model" \
    --images "$images" --labels "$labels" --threads "$threads" 2>/dev/null)
  ref_maps=$(sed -n 's/reference cams per image: \([0-9.]*\) ms/\1/p' <<<"$ref")
  ref_crf=$(sed -n 's/reference crf per image: \([0-9.]*\) ms/\1/p' <<<"$ref")
  echo "$size | $maps_ms ms | $ref_maps ms | $(ratio "$ref_maps" "$maps_ms") | $crf_ms ms | $ref_crf ms | $(ratio "$ref_crf" "$crf_ms")"
done
echo "($count images per size, 2 labels each; $threads threads for the maps, one for the CRF on both"
echo " sides; CRF time per image covers reading the maps and image, the CRF and scoring, as crf())"
