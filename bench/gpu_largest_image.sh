#!/usr/bin/env bash
# The largest square image `tagclip tag --device cuda` encodes at full resolution, per
# precision, on a random ViT-B/16-sized checkpoint: one run per precision over images of
# growing side (--max-side none, so nothing is scaled down), then a VOC-sized image. An
# image that does not fit must become an error record and the run must go on, so the last
# image is tagged after the failures.
#
# Usage: bench/gpu_largest_image.sh [side...]   (TAGCLIP_BUILD_DIR, default build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
sides=("$@")
[[ ${#sides[@]} -gt 0 ]] || sides=(1024 1536 2048 2560 3072 3584 4096 5120 6144 8192)
build=${TAGCLIP_BUILD_DIR:-build-cuda}
python=${PYTHON:-python3}
device=${TAGCLIP_BENCH_DEVICE:-cuda}  # cpu: to try the script on a machine without a GPU
work=${TMPDIR:-/tmp}/tagclip-bench-largest
mkdir -p "$work/images"
model=${TAGCLIP_BENCH_MODEL:-$work/vit-b16-random.pt}
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
bpe=${TAGCLIP_BPE:-models/bpe_simple_vocab_16e6.txt.gz}
"$python" - "$work/images" "${sides[@]}" <<'PY'
import os, sys
from PIL import Image
out, sides = sys.argv[1], [int(s) for s in sys.argv[2:]]
photo = Image.open(os.path.join("tests", "data", "images", "fruits.jpg")).convert("RGB")
for side in sides:
    photo.resize((side, side), Image.BILINEAR).save(os.path.join(out, f"side-{side:05d}.jpg"), quality=85)
photo.resize((500, 375), Image.BILINEAR).save(os.path.join(out, "zz-voc-sized.jpg"), quality=90)
PY
for precision in fp32 fp16 bf16; do
  "$build/tagclip" tag --model "$model" --bpe "$bpe" --cache-dir "$work/cache" --device "$device" \
    --precision "$precision" --max-side none --max-pixels none "$work/images" \
    -o "$work/$precision.jsonl" 2>"$work/$precision.log" || true  # exit 1: some images failed
  "$python" - "$work/$precision.jsonl" "$precision" <<'PY'
import json, sys
path, precision = sys.argv[1], sys.argv[2]
records = [json.loads(line) for line in open(path)]
fits = [r for r in records if "error" not in r and "side-" in r["image"]]
fails = [r for r in records if "error" in r]
last = records[-1] if records else {}
largest = max((r["width"] for r in fits), default=0)
print(f"{precision}: largest square image that fits {largest} px"
      f" ({(largest // 16) ** 2} patches); {len(fails)} error records"
      + (f", first: {fails[0]['image'].split('/')[-1]}: {fails[0]['error'][:90]}" if fails else "")
      + f"; VOC-sized image after them: {'tagged' if last and 'error' not in last and 'zz-voc' in last.get('image', '') else 'NOT TAGGED'}")
PY
done
