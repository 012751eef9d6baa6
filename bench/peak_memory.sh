#!/usr/bin/env bash
# Time and peak memory of `tagclip tag` per image size, with a random checkpoint of ViT-B/16's
# size, at the default --max-side and without a bound. One process per figure, so each peak
# (GNU time's maximum resident set size) is that run's own; text embeddings come from the
# cache (filled first), so the figures are the image's. Prints a markdown table.
# Usage: bench/peak_memory.sh [threads] [sizes...]   (default: all cores; the sizes below)
# Needs /usr/bin/time and Debian's python3-pil (for the test images).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(500x375 640x480 1024x768 1600x1200 4000x3000)
build=${TAGCLIP_BUILD_DIR:-build}
work=${TMPDIR:-/tmp}/tagclip-bench-memory
mkdir -p "$work"
model=$work/vit-b16-random.pt
[[ -f $model ]] || "$build/tagclip" -q random-checkpoint "$model" --preset vit-b16
tag=("$build/tagclip" tag --model "$model" --cache-dir "$work/cache" --threads "$threads")
/usr/bin/python3 bench/make_voc_sized_images.py "$work/fill" --count 1
"${tag[@]}" -q "$work/fill/000000.jpg" -o /dev/null  # fills the text cache

# Bounds without a limit are skipped where a ViT-B/16 pass could not fit in memory.
unbounded_limit=4000000  # pixels
echo "| image | --max-side | encoded at | seconds per image | peak memory |"
echo "| --- | --- | --- | --- | --- |"
for size in "${sizes[@]}"; do
  dir=$work/$size
  [[ -d $dir ]] || /usr/bin/python3 bench/make_voc_sized_images.py "$dir" --count 1 --size "$size"
  w=${size%x*} h=${size#*x}
  for bound in 640 none; do
    if [[ $bound == none ]] && ((w * h > unbounded_limit)); then
      echo "| $size | none | $size | not run: one attention map alone exceeds this machine's memory | |"
      continue
    fi
    if [[ $bound == none ]] && ((w <= 640 && h <= 640)); then continue; fi  # same as the default
    log=$work/run.log
    /usr/bin/time -f "peak_kb %M" "${tag[@]}" --max-side "$bound" "$dir/000000.jpg" -o /dev/null 2>"$log"
    seconds=$(sed -n 's/.*(\([0-9.]*\) ms\/image).*/\1/p' "$log" | awk '{ printf "%.1f", $1 / 1000 }')
    peak=$(sed -n 's/^peak_kb \([0-9]*\)/\1/p' "$log" | awk '{ printf "%.2f GB", $1 / 1048576 }')
    # The patch-aligned size the ViT sees (bounded_size, then patch_aligned_size).
    encoded=$(awk -v w="$w" -v h="$h" -v b="$bound" 'BEGIN {
      ew = w; eh = h; long = w > h ? w : h
      if (b != "none" && long > b + 0) {
        s = b / long; ew = (w == long) ? b : int(w * s + 0.5); eh = (h == long) ? b : int(h * s + 0.5)
      }
      printf "%dx%d", int((ew + 15) / 16) * 16, int((eh + 15) / 16) * 16 }')
    echo "| $size | $bound | $encoded | $seconds | $peak |"
  done
done
