#!/usr/bin/env bash
# The merge step after a job array of slurm_tag_array.sh: `tagclip merge` with the same
# inputs and -o as the array, and --shards N.
#
#   sbatch --dependency=afterok:JOBID scripts/cluster/slurm_merge.sh val2014/ --shards 16 \
#       -o out/tags.jsonl [--labels-out out/labels.txt]
#
# It writes out/tags.jsonl in input order, byte for byte what one process would have
# written, and fails (exit 1, nothing written) listing any image without exactly one record.
# Environment: TAGCLIP, the tagclip binary (default: tagclip on PATH).
#SBATCH --job-name=tagclip-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --output=tagclip-merge-%j.log
set -euo pipefail

exec "${TAGCLIP:-tagclip}" merge "$@"
