#!/usr/bin/env bash
# A sharded run under a real Slurm: a single-node cluster on localhost (slurm_cluster.sh),
# scripts/cluster/submit_slurm.sh's job array and merge job over 401 images with the demo
# CLIP, and the merged output compared byte for byte with one process tagging them all.
# Then a task is SIGKILLed mid-run, requeued with scontrol, resumes its shard file, and the
# merge is still identical. Stops every daemon it started, whatever happens.
#
#   tests/cluster/test_slurm_array.sh build/tagclip
#
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge (scripts/setup.sh).
set -euo pipefail

tagclip=$(realpath "${1:?usage: $0 path/to/tagclip}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/tagclip-slurm.XXXXXX)
cluster=$work/cluster

say() { echo "[test_slurm_array] $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}
finish() {
  local status=$?
  "$repo/tests/cluster/slurm_cluster.sh" stop "$cluster" || status=1
  if ((status == 0)); then rm -rf "$work"; else say "kept $work for inspection"; fi
  exit "$status"
}
trap finish EXIT
trap 'exit 143' TERM INT  # ctest's timeout: still stop the daemons

# Waits until none of the jobs is pending, running, completing or requeued.
wait_for_jobs() {
  local jobs=$1 limit=$2 start=$SECONDS
  while [[ -n $(timeout 20 squeue -h -j "$jobs" -t PD,R,CG,S,CF,RS,RQ,SE -o %i 2>/dev/null ||
    echo busy) ]]; do
    ((SECONDS - start < limit)) || {
      squeue >&2
      fail "jobs $jobs still not done after $limit s"
    }
    sleep 0.5
  done
}

task_state() { timeout 20 scontrol -o show job "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

# The tagclip process of array task JOB_TASK, found by its Slurm variables.
task_process() {
  local job=$1 task=$2 pid
  for pid in $(pgrep -x tagclip || true); do
    if grep -qzx "SLURM_ARRAY_JOB_ID=$job" "/proc/$pid/environ" 2>/dev/null &&
      grep -qzx "SLURM_ARRAY_TASK_ID=$task" "/proc/$pid/environ" 2>/dev/null; then
      echo "$pid"
    fi
  done
}

lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }

# 400 images in two folders (the synthetic VOC images twice) and one that cannot be decoded:
# its error record must travel through the shards like any other.
mkdir -p "$work/images/a" "$work/images/b"
cp "$repo"/tests/data/synthetic_voc/JPEGImages/*.jpg "$work/images/a/"
cp "$repo"/tests/data/synthetic_voc/JPEGImages/*.jpg "$work/images/b/"
echo "not a JPEG" >"$work/images/b/broken.jpg"
tag_options=(--model "$repo/models/demo-clip.pt" --bpe "$repo/models/bpe_simple_vocab_16e6.txt.gz"
  --classes "$repo/models/demo_classes.txt" --cache-dir "$work/cache" --threads 1)

say "one process tags all 401 images"
status=0
"$tagclip" -q tag "$work/images" "${tag_options[@]}" -o "$work/single.jsonl" \
  --labels-out "$work/single.txt" || status=$?
((status == 1)) || fail "the single run should exit 1 (one undecodable image), not $status"
(($(lines "$work/single.jsonl") == 401)) || fail "the single run wrote $(lines "$work/single.jsonl") records"

"$repo/tests/cluster/slurm_cluster.sh" start "$cluster"
source "$cluster/env.sh"
export TAGCLIP=$tagclip
cd "$work"  # job logs land here

say "array of 4 tasks and the merge job, submitted by submit_slurm.sh"
submitted=$(TAGCLIP_ARRAY_ARGS="--cpus-per-task=1" "$repo/scripts/cluster/submit_slurm.sh" 4 \
  "$work/run1/tags.jsonl" "$work/images" --labels-out "$work/run1/labels.txt" -- "${tag_options[@]}")
say "$submitted"
array_job=$(sed -n 's/^array job \([0-9]*\) .*/\1/p' <<<"$submitted")
merge_job=$(sed -n 's/.*merge job \([0-9]*\)$/\1/p' <<<"$submitted")
[[ -n $array_job && -n $merge_job ]] || fail "cannot read the job ids from: $submitted"
wait_for_jobs "$array_job,$merge_job" 300
for task in 0 1 2 3; do
  state=$(task_state "${array_job}_$task")
  [[ $state == COMPLETED ]] || fail "array task $task ended $state: $(cat tagclip-tag-"${array_job}_$task".log)"
done
[[ $(task_state "$merge_job") == COMPLETED ]] ||
  fail "the merge job ended $(task_state "$merge_job"): $(cat tagclip-merge-"$merge_job".log)"
for task in 0 1 2 3; do
  shard=$work/run1/tags.0000$task-of-00004.jsonl
  (($(lines "$shard") == 100 || $(lines "$shard") == 101)) || fail "$shard holds $(lines "$shard") records"
done
cmp "$work/single.jsonl" "$work/run1/tags.jsonl" || fail "the merged array output differs from the single run"
cmp "$work/single.txt" "$work/run1/labels.txt" || fail "the merged labels differ from the single run's"
say "merged output of 4 tasks equals the single run byte for byte"

say "array of 2 tasks; task 1 is killed mid-run, requeued and resumes"
array_job=$(sbatch --parsable --array=0-1 --cpus-per-task=1 \
  "$repo/scripts/cluster/slurm_tag_array.sh" "$work/images" -o "$work/run2/tags.jsonl" "${tag_options[@]}")
array_job=${array_job%%;*}
shard=$work/run2/tags.00001-of-00002.jsonl
start=$SECONDS
until (($(lines "$shard") >= 5)); do
  ((SECONDS - start < 120)) || fail "task 1 never wrote 5 records: $(cat tagclip-tag-"${array_job}"_1.log 2>&1)"
  sleep 0.05
done
pid=$(task_process "$array_job" 1)
[[ -n $pid ]] || fail "task 1's tagclip process is gone before the kill ($(lines "$shard") records)"
kill -KILL "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
at_kill=$(lines "$shard")
((at_kill < 200)) || fail "task 1 had finished ($at_kill records) before the kill"
say "killed task 1 at $at_kill of 200 records"
start=$SECONDS
until [[ $(task_state "${array_job}_1") =~ ^(FAILED|COMPLETED)$ ]]; do
  ((SECONDS - start < 60)) || fail "task 1 is $(task_state "${array_job}_1") after its kill"
  sleep 0.2
done
scontrol requeue "${array_job}_1"
wait_for_jobs "$array_job" 300
for task in 0 1; do
  state=$(task_state "${array_job}_$task")
  [[ $state == COMPLETED ]] || fail "task $task ended $state: $(cat tagclip-tag-"${array_job}_$task".log)"
done
task_log=$(cat "tagclip-tag-${array_job}_1.log")
grep -q "restart 1" <<<"$task_log" || fail "task 1 did not run a second time: $task_log"
grep -q "resuming: $at_kill images already in" <<<"$task_log" || fail "task 1 did not resume: $task_log"
"$tagclip" merge "$work/images" --shards 2 -o "$work/run2/tags.jsonl" ||
  fail "merging the killed and requeued run failed"
cmp "$work/single.jsonl" "$work/run2/tags.jsonl" || fail "the requeued run's merge differs from the single run"
say "killed, requeued and resumed: the merged output still equals the single run"
