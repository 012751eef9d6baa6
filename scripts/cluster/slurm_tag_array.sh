#!/usr/bin/env bash
# One task of a Slurm job array: `tagclip tag` on this task's shard of the images.
#
#   sbatch --array=0-15 scripts/cluster/slurm_tag_array.sh val2014/ -o out/tags.jsonl --classes coco
#
# Arguments are `tagclip tag`'s. tagclip reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT
# itself, so task 3 of 16 tags its 1/16 of the images into out/tags.00003-of-00016.jsonl
# (likewise --labels-out and --meta-out). The array must be one range (--array=0-15, or
# 1-16); a throttle (%4) is fine, steps are refused. --resume is always on: a task that was
# preempted, killed or requeued keeps its finished records and tags only the rest.
# Join the shards afterwards with slurm_merge.sh (submit_slurm.sh does both).
#
# The defaults below suit a CPU node; override them on the sbatch command line. On a GPU
# node add --gres=gpu:1 and pass --device cuda --threads 1 with a CUDA build
# (scripts/setup_cuda.sh; one CPU thread measured fastest beside a GPU).
# Environment: TAGCLIP, the tagclip binary (default: tagclip on PATH).
#SBATCH --job-name=tagclip-tag
#SBATCH --cpus-per-task=8
#SBATCH --mem-per-cpu=1G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=tagclip-tag-%A_%a.log
set -euo pipefail

tagclip=${TAGCLIP:-tagclip}
if [[ -z ${SLURM_ARRAY_TASK_ID:-} ]]; then
  echo "slurm_tag_array.sh: not a job array task; submit it with sbatch --array=0-N" >&2
  exit 2
fi

extra=()
# One LibTorch thread per allocated CPU, unless the arguments say otherwise.
[[ " $* " == *" --threads "* ]] || extra+=(--threads "${SLURM_CPUS_PER_TASK:-1}")
[[ " $* " == *" --resume "* ]] || extra+=(--resume)
echo "tagclip array task ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID} on $(hostname)," \
  "restart ${SLURM_RESTART_COUNT:-0}" >&2
status=0
"$tagclip" tag "${extra[@]}" "$@" || status=$?
# Exit 1 means some images could not be tagged; their error records are in the shard's
# output like any other record, so the task did its work and the merge may run.
if ((status == 1)); then
  echo "some images failed; their error records are in the output" >&2
  exit 0
fi
exit "$status"
