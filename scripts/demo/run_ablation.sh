#!/usr/bin/env bash
# The paper's ablation on the synthetic benchmark with the demo CLIP: `tagclip eval` with each
# --method, then a markdown table of mAP and F1/P/R and the breakdown of found objects.
#   scripts/demo/run_ablation.sh [--root SPLIT_ROOT] [OUT_DIR] [extra eval options...]
# Defaults: OUT_DIR ablation/, the 200 images of tests/data/synthetic_voc (test split);
# --root tests/data/synthetic_voc_heldout scores the held-out split (seeds 2025, 2026), which no
# training or tuning of the demo CLIP may see.
# Predictions are kept (eval -o, resumable), so a second run only rescores.
# TAGCLIP_DEMO_MODEL scores another demo checkpoint (a training pilot) instead of the
# committed models/demo-clip.pt.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=tests/data/synthetic_voc
if [[ ${1:-} == --root ]]; then
  root=${2:?--root needs a folder}
  shift 2
fi
out=${1:-ablation}
shift || true
build=${TAGCLIP_BUILD_DIR:-build}
model=${TAGCLIP_DEMO_MODEL:-models/demo-clip.pt}
bpe=models/bpe_simple_vocab_16e6.txt.gz
[[ -f $bpe ]] || { echo "run_ablation: $bpe is missing from the checkout" >&2; exit 3; }
mkdir -p "$out"
methods=(global coarse dmar tagclip)
for method in "${methods[@]}"; do
  echo "run_ablation: --method $method" >&2
  "$build/tagclip" -q eval --dataset voc2007 --root "$root" --split test \
    --classes models/demo_classes.txt --model "$model" --bpe "$bpe" \
    --method "$method" --resume -o "$out/$method.jsonl" --report-json "$out/$method.json" \
    "$@" > "$out/$method.txt"
done
echo "| method | mAP | F1 | P | R |"
echo "|---|---|---|---|---|"
for method in "${methods[@]}"; do
  python3 -c 'import json, sys
r = json.load(open(sys.argv[2]))
print("| %s | %.1f | %.1f | %.1f | %.1f |" % (sys.argv[1], 100 * r["mAP"], 100 * r["F1"],
                                             100 * r["precision"], 100 * r["recall"]))' \
    "$method" "$out/$method.json"
done
echo
python3 scripts/demo/ablation_breakdown.py --root "$root" --classes models/demo_classes.txt \
  $(printf "$out/%s.jsonl " "${methods[@]}")
