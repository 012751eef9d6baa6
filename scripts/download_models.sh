#!/usr/bin/env bash
# Downloads CLIP ViT checkpoints into models/. OpenAI's files are checked against the SHA-256
# OpenAI publishes them under. CLIP's BPE vocabulary is committed in models/; the script
# checks its SHA-256 too, and fetches it again only when the checkout's copy is missing or
# damaged. Usage:
#   scripts/download_models.sh                  ViT-B/16
#   scripts/download_models.sh ViT-L/14 ...     other checkpoints by name
#   scripts/download_models.sh --bpe-only       the vocabulary alone
#   scripts/download_models.sh --list           every name, and where it comes from
#   scripts/download_models.sh --dry-run NAME   the URLs and files, nothing downloaded
# OpenAI (TorchScript .pt): ViT-B/32 ViT-B/16 ViT-L/14 ViT-L/14@336px
# Hugging Face hub repositories, by alias (below) or as hf:OWNER/REPO (a transformers CLIPModel:
# config.json + model.safetensors into models/OWNER--REPO/) or open_clip:OWNER/REPO (a hub
# open_clip repository: open_clip_config.json + open_clip_model.safetensors). The hub's files
# are not pinned to a checksum here; their SHA-256 is written to SHA256SUMS beside them.
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
# alias -> hub repository ("hf:" a transformers CLIPModel, "open_clip:" an open_clip one).
declare -A hub_aliases=(
  [hf/ViT-B/32]="hf:openai/clip-vit-base-patch32"
  [hf/ViT-B/16]="hf:openai/clip-vit-base-patch16"
  [hf/ViT-L/14]="hf:openai/clip-vit-large-patch14"
  [hf/ViT-L/14@336px]="hf:openai/clip-vit-large-patch14-336"
  [laion/ViT-B-32]="open_clip:laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
  [laion/ViT-B-16]="open_clip:laion/CLIP-ViT-B-16-laion2B-s34B-b88K"
  [laion/ViT-L-14]="open_clip:laion/CLIP-ViT-L-14-laion2B-s32B-b82K"
  [laion/ViT-H-14]="open_clip:laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
  [datacomp/ViT-B-16]="open_clip:laion/CLIP-ViT-B-16-DataComp.XL-s13B-b90K"
  [datacomp/ViT-L-14]="open_clip:laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K"
)
hub=https://huggingface.co
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

# A hub repository's files into models/OWNER--REPO/, with their SHA-256 in SHA256SUMS.
fetch_hub() {  # kind (hf or open_clip) owner/repo
  local kind=$1 repo=$2 folder="$dest/${2//\//--}" file files
  if [[ $kind == hf ]]; then files=(config.json model.safetensors)
  else files=(open_clip_config.json open_clip_model.safetensors); fi
  if ((dry_run)); then
    for file in "${files[@]}"; do echo "$hub/$repo/resolve/main/$file -> $folder/$file"; done
    echo "use: --model $folder"
    return
  fi
  mkdir -p "$folder"
  for file in "${files[@]}"; do
    if [[ -s "$folder/$file" ]]; then echo "ok       $folder/$file (already present)"; continue; fi
    echo "fetching $hub/$repo/resolve/main/$file" >&2
    if command -v curl >/dev/null; then
      curl -fL --retry 2 --connect-timeout 15 -o "$folder/$file.part" "$hub/$repo/resolve/main/$file" ||
        { rm -f "$folder/$file.part"; no_network "$hub/$repo/resolve/main/$file"; }
    else
      wget -q --timeout=15 -O "$folder/$file.part" "$hub/$repo/resolve/main/$file" ||
        { rm -f "$folder/$file.part"; no_network "$hub/$repo/resolve/main/$file"; }
    fi
    mv "$folder/$file.part" "$folder/$file"
  done
  (cd "$folder" && sha256sum "${files[@]}" > SHA256SUMS)
  echo "ok       $folder (use: --model $folder)"
}

dry_run=0
names=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    --list)
      for name in "${!checkpoints[@]}"; do echo "$name  OpenAI TorchScript, $base"; done | sort
      for name in "${!hub_aliases[@]}"; do echo "$name  ${hub_aliases[$name]}"; done | sort
      exit 0 ;;
    *) names+=("$arg") ;;
  esac
done
((${#names[@]})) || names=(ViT-B/16)
if ((dry_run)); then
  echo "$bpe_url -> $dest/bpe_simple_vocab_16e6.txt.gz"
else
  fetch "$bpe_url" "$bpe_sha" "$dest/bpe_simple_vocab_16e6.txt.gz"
fi
[[ "${names[0]}" == --bpe-only ]] && exit 0
for name in "${names[@]}"; do
  name="${hub_aliases[$name]:-$name}"
  case "$name" in
    hf:*/*) fetch_hub hf "${name#hf:}"; continue ;;
    open_clip:*/*) fetch_hub open_clip "${name#open_clip:}"; continue ;;
  esac
  entry="${checkpoints[$name]:-}"
  [[ -n "$entry" ]] || { echo "download_models: unknown model '$name' (--list shows the names)" >&2; exit 2; }
  read -r sha file <<<"$entry"
  if ((dry_run)); then echo "$base/$sha/$file -> $dest/$file"; continue; fi
  fetch "$base/$sha/$file" "$sha" "$dest/$file"
done
