#!/usr/bin/env bash
# The README's main job: tags the sample images and prints the tags.
#   with models/ViT-B-16.pt (scripts/download_models.sh): the photos in samples/photos, VOC classes
#   otherwise: the project's demo CLIP (models/demo-clip.pt) on samples/synthetic, its own classes
# Writes samples-tags.jsonl and samples-why/ (one heat-map PNG per image) into the checkout,
# or into $TAGCLIP_SAMPLES_OUT when set.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TAGCLIP_BUILD_DIR:-build}
out=${TAGCLIP_SAMPLES_OUT:-.}
mkdir -p "$out"

# CLIP's tokenizer vocabulary is committed: nothing here touches the network.
bpe=models/bpe_simple_vocab_16e6.txt.gz
[[ -f $bpe ]] || { echo "tag_samples: $bpe is missing from the checkout (git checkout -- $bpe)" >&2; exit 3; }

if [[ -f models/ViT-B-16.pt ]]; then
  echo "tag_samples: using OpenAI CLIP ViT-B/16 (models/ViT-B-16.pt) on samples/photos, VOC classes" >&2
  args=(--model models/ViT-B-16.pt --classes voc samples/photos)
elif [[ ! -f models/demo-clip.pt ]]; then
  echo "tag_samples: no model: run scripts/download_models.sh to fetch models/ViT-B-16.pt" >&2
  exit 3
else
  echo "tag_samples: models/ViT-B-16.pt not found (scripts/download_models.sh fetches it);" >&2
  echo "tag_samples: using the demo CLIP trained by this project (models/demo-clip.pt) on samples/synthetic" >&2
  args=(--model models/demo-clip.pt --classes models/demo_classes.txt samples/synthetic)
fi
"$build/tagclip" tag --bpe "$bpe" "${args[@]}" -o "$out/samples-tags.jsonl" --visualize "$out/samples-why"
# One line per image: file and its tags, scores cut to 3 decimals.
sed -E -e 's/("score":[0-9]+\.[0-9]{3})[0-9]*/\1/g' -e 's/^\{"image":"([^"]*)".*"tags":\[(.*)\],"scores".*/\1 \2/' \
  -e 's/\{"label":"([^"]*)","index":[0-9]+,"score":([0-9.e-]+)\}/\1 (\2)/g' "$out/samples-tags.jsonl"
echo "tag_samples: records in $out/samples-tags.jsonl, heat maps in $out/samples-why/" >&2
