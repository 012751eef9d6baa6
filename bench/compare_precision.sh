#!/usr/bin/env bash
# bf16 against fp32 on real photos: tags the colour photos of OpenCV's sample data (Debian's
# opencv-doc package) with both precisions and prints the share of images whose tag sets
# are identical and the largest score difference, per vocabulary.
# Usage: bench/compare_precision.sh [model] [threads] [vocabulary...]
#   model: default a random ViT-B/16-sized checkpoint; vocabularies: default voc coco.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TAGCLIP_BUILD_DIR:-build}
work=${TMPDIR:-/tmp}/tagclip-bench-precision
mkdir -p "$work"
model=${1:-$work/vit-b16-random.pt}
threads=${2:-$(nproc)}
shift $(($# < 2 ? $# : 2))
vocabularies=("$@")
[[ ${#vocabularies[@]} -gt 0 ]] || vocabularies=(voc coco)
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
samples=/usr/share/doc/opencv-doc/examples/data
[[ -d $samples ]] || { echo "needs Debian's opencv-doc package ($samples)" >&2; exit 2; }
# Photographs only (no drawings, charts, calibration boards or text scans).
photos=(aero1.jpg aero3.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png building.jpg
  butterfly.jpg fruits.jpg home.jpg HappyFish.jpg leuvenA.jpg licenseplate_motion.jpg
  messi5.jpg orange.jpg right.jpg rubberwhale1.png smarties.png squirrel_cls.jpg stuff.jpg
  graf1.png box_in_scene.png lena.jpg left.jpg board.jpg blox.jpg)
list=$work/photos.txt
: >"$list"
for photo in "${photos[@]}"; do [[ -f $samples/$photo ]] && echo "$samples/$photo" >>"$list"; done
echo "$(wc -l <"$list") photos from $samples, model $model, $threads threads"
for vocabulary in "${vocabularies[@]}"; do
  for precision in fp32 bf16; do
    "$build/tagclip" -q tag --model "$model" --classes "$vocabulary" --precision "$precision" \
      --threads "$threads" --cache-dir "$work/cache" "@$list" -o "$work/$vocabulary-$precision.jsonl"
  done
  echo -n "$vocabulary: "
  /usr/bin/python3 bench/tag_agreement.py "$work/$vocabulary-fp32.jsonl" "$work/$vocabulary-bf16.jsonl" --list
done
