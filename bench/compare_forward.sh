#!/usr/bin/env bash
# Runs tagclip's forward benchmark and the authors' code on the same random ViT-B/16-sized
# checkpoint, one after the other, with the same thread count.
# Usage: bench/compare_forward.sh /path/to/TagCLIP-checkout [threads]
# Needs Debian's python3-torch, python3-torchvision, python3-regex, python3-pil, and an
# `ftfy` module (an identity stub is enough for these ASCII prompts) on PYTHONPATH.
set -euo pipefail
cd "$(dirname "$0")/.."
reference=${1:?usage: bench/compare_forward.sh /path/to/TagCLIP [threads]}
threads=${2:-$(nproc)}
build=${TAGCLIP_BUILD_DIR:-build}
model=${TMPDIR:-/tmp}/tagclip-bench-vit-b16.pt
[[ -f $model ]] || "$build/tagclip" random-checkpoint "$model" --preset vit-b16
"$build/bench/bench_forward" --model "$model" --threads "$threads"
/usr/bin/python3 bench/reference_forward_time.py --reference "$reference" --model "$model" --threads "$threads"
