#!/usr/bin/env bash
# Downloads OpenAI CLIP ViT checkpoints into models/, checking each file's SHA-256.
# CLIP's BPE vocabulary is committed in models/; the script checks its SHA-256 too, and
# fetches it again only when the checkout's copy is missing or damaged. Usage:
#   scripts/download_models.sh                  ViT-B/16
#   scripts/download_models.sh ViT-L/14 ...     other checkpoints by name
#   scripts/download_models.sh --bpe-only       the vocabulary alone
# Names: ViT-B/32 ViT-B/16 ViT-L/14 ViT-L/14@336px
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${TAGCLIP_MODELS_DIR:-models}"
mkdir -p "$dest"

base=https://openaipublic.azureedge.net/clip/models
# name -> "<sha256> <file name>"; OpenAI publishes each file under its own SHA-256.
declare -A checkpoints=(
  [ViT-B/32]="40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af ViT-B-32.pt"
  [ViT-B/16]="5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f ViT-B-16.pt"
  [ViT-L/14]="b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836 ViT-L-14.pt"
  [ViT-L/14@336px]="3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02 ViT-L-14-336px.pt"
)
bpe_url=https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz
bpe_sha=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a

fetch() {  # url sha256 target
  local url=$1 sha=$2 target=$3
  if [[ -f "$target" ]] && echo "$sha  $target" | sha256sum --quiet -c - 2>/dev/null; then
    echo "ok       $target (already present, checksum matches)"
    return
  fi
  echo "fetching $url" >&2
  local tmp="$target.part"
  if command -v curl >/dev/null; then
    curl -fL --retry 2 --connect-timeout 15 -o "$tmp" "$url" || { rm -f "$tmp"; no_network "$url"; }
  elif command -v wget >/dev/null; then
    wget -q --timeout=15 -O "$tmp" "$url" || { rm -f "$tmp"; no_network "$url"; }
  else
    echo "download_models: neither curl nor wget is installed (apt-get install curl)" >&2; exit 1
  fi
  if ! echo "$sha  $tmp" | sha256sum --quiet -c - 2>/dev/null; then
    rm -f "$tmp"
    echo "download_models: $url arrived with the wrong SHA-256 (expected $sha); nothing kept" >&2
    exit 1
  fi
  mv "$tmp" "$target"
  echo "ok       $target"
}

no_network() {
  echo "download_models: could not download $1." >&2
  echo "  This machine seems to have no network access to that host. Download the file" >&2
  echo "  elsewhere and copy it into $dest/ (the checksum is verified on the next run)." >&2
  exit 1
}

names=("$@")
((${#names[@]})) || names=(ViT-B/16)
fetch "$bpe_url" "$bpe_sha" "$dest/bpe_simple_vocab_16e6.txt.gz"
[[ "${names[0]}" == --bpe-only ]] && exit 0
for name in "${names[@]}"; do
  entry="${checkpoints[$name]:-}"
  [[ -n "$entry" ]] || { echo "download_models: unknown model '$name' (known: ${!checkpoints[*]})" >&2; exit 2; }
  read -r sha file <<<"$entry"
  fetch "$base/$sha/$file" "$sha" "$dest/$file"
done
