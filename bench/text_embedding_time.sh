#!/usr/bin/env bash
# Time to build the class embeddings of COCO (80 classes) and COCO-Stuff (171) with the
# authors' 85 templates: cold (empty cache) and cached, from `tag --profile`'s
# "text embeddings (load)" row, one image tagged each time.
# Usage: bench/text_embedding_time.sh [model] [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TAGCLIP_BUILD_DIR:-build}
work=${TMPDIR:-/tmp}/tagclip-bench-text
model=${1:-${TMPDIR:-/tmp}/tagclip-bench-tag/vit-b16-random.pt}
threads=${2:-$(nproc)}
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
rm -rf "$work" && mkdir -p "$work"
echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg); model $model, $threads threads"
for vocabulary in coco cocostuff; do
  for pass in cold cached; do
    seconds=$("$build/tagclip" tag --model "$model" --classes "$vocabulary" --threads "$threads" \
      --cache-dir "$work/cache" --profile --method coarse tests/data/images/orange_224.jpg \
      -o /dev/null 2>&1 | sed -n 's/^text embeddings (load) *\([0-9.]*\).*/\1/p')
    echo "$vocabulary $pass: $seconds s"
  done
done
