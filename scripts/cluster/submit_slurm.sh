#!/usr/bin/env bash
# Submits a sharded tagging run to Slurm: an array of SHARDS tasks (slurm_tag_array.sh) and a
# merge job (slurm_merge.sh) that starts when every task has succeeded.
#
#   scripts/cluster/submit_slurm.sh SHARDS OUTPUT INPUT... [-- TAG_OPTION...]
#   scripts/cluster/submit_slurm.sh 16 out/tags.jsonl /data/coco/val2014 \
#       --labels-out out/labels.txt -- --classes coco --model models/ViT-B-16.pt
#
# INPUT... are the images as `tagclip tag` takes them (folders, files, @LIST, or --split-file
# F --image-root D), and --labels-out; the array and the merge both get them. Options after
# -- go to `tagclip tag` only. Prints the array's and the merge's job ids.
# Environment: TAGCLIP (the tagclip binary, default: tagclip on PATH; passed to the jobs),
# TAGCLIP_SBATCH_ARGS (more sbatch options for both jobs, e.g. "--partition=cpu"),
# TAGCLIP_ARRAY_ARGS (sbatch options for the array only, e.g. "--cpus-per-task=4").
set -euo pipefail

if (($# < 3)); then
  sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
shards=$1 output=$2
shift 2
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "submit_slurm.sh: SHARDS must be a positive number" >&2; exit 2; }
shared=()
while (($#)) && [[ $1 != -- ]]; do shared+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
here=$(cd "$(dirname "$0")" && pwd)
read -r -a sbatch_args <<<"${TAGCLIP_SBATCH_ARGS:-}"
read -r -a array_args <<<"${TAGCLIP_ARRAY_ARGS:-}"
export TAGCLIP=${TAGCLIP:-tagclip}

array_job=$(sbatch --parsable --array="0-$((shards - 1))" "${sbatch_args[@]}" "${array_args[@]}" \
  "$here/slurm_tag_array.sh" "${shared[@]}" -o "$output" "$@")
array_job=${array_job%%;*}  # --parsable prints "id" or "id;cluster"
merge_job=$(sbatch --parsable --dependency="afterok:$array_job" "${sbatch_args[@]}" \
  "$here/slurm_merge.sh" "${shared[@]}" --shards "$shards" -o "$output")
merge_job=${merge_job%%;*}
echo "array job $array_job ($shards tasks), merge job $merge_job"
