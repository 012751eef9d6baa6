#!/usr/bin/env bash
# Builds tagclip's libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer,
# leak detection on) in their own build folder and runs each from seed corpora made from
# tests/data. Prints one line per target: executions, seconds, executions per second, and
# the corpus size. Exits 1 at the first crash, sanitizer report or leak (libFuzzer keeps the
# input as crash-*, leak-* or timeout-* in the build folder's findings/, and the report
# prints it, gzipped and base64-encoded, so that a CI log is enough to rebuild it).
#
#   scripts/fuzz.sh [--runs N | --seconds S] [--jobs J] [--build DIR] [TARGET...]
#
# Default: --runs 1000000 (the README's figures), every target. CI runs --seconds 20.
# --jobs J runs J processes per target on one shared corpus (each picks up the others'
# finds): --runs is split between them, --seconds applies to each; the line sums them.
# Targets: checkpoint safetensors tokenizer class_files split_files voc_xml coco_json
# jsonl_resume image_decode. Needs Debian's clang and libclang-rt-14-dev (scripts/setup.sh installs them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-sanitize"
runs=1000000
seconds=""
jobs=1
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; seconds=""; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n 2,14p "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(checkpoint safetensors tokenizer class_files split_files voc_xml coco_json jsonl_resume
  image_decode)
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs wants a positive count, not '$jobs'" >&2; exit 2; }
if [[ -n "$seconds" ]]; then
  limit=(-max_total_time="$seconds")
else
  limit=(-runs=$(((runs + jobs - 1) / jobs)))
fi

# The sanitized build (every source under the sanitizers), shared with
# scripts/run_sanitized_tests.sh and configured alike, so neither rebuilds the other's objects.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DTAGCLIP_FUZZ=ON -DTAGCLIP_BUILD_TESTS=ON \
  -DTAGCLIP_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build.configure.log"
cmake --build "$build" --target fuzzers -j "$(nproc)" > "$build.build.log" ||
  { tail -30 "$build.build.log" >&2; exit 1; }

# Seed corpora, rebuilt each run from the checkout (libFuzzer adds what it finds to them).
seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{checkpoint,safetensors,tokenizer,class_files,split_files,voc_xml,coco_json,jsonl_resume,image_decode}
"$build/fuzz/make_checkpoint_seed" "$seeds/checkpoint/tiny.pt" "$seeds/safetensors"
# The Hugging Face seed's weights (its config.json stays out: the target reads files alone).
mv "$seeds/safetensors/hf/model.safetensors" "$seeds/safetensors/hf.safetensors"
rm -r "$seeds/safetensors/hf" "$seeds/safetensors/open_clip_config.json"
cp "$root/models/demo_classes.txt" "$seeds/class_files/"
printf 'a bad photo of a {}.\nthe {} in the scene.\n' > "$seeds/class_files/templates.txt"
i=0
while IFS= read -r line; do
  printf '%s' "$line" > "$seeds/tokenizer/$((i++)).txt"
done < <(printf '%s\n' "a photo of a dog." "Ünïcödé café, naïve!" "it's 3.14 <html> &amp;" \
  "日本語のテキスト" "  many   spaces\tand\ttabs  " "emoji 🙂 and 's 't 're" \
  "$(head -c 300 "$root/models/demo_classes.txt")")
cp "$root"/tests/data/synthetic_voc/ImageSets/Main/{circle_test,test}.txt "$seeds/split_files/"
head -c 2000 "$root/tests/data/synthetic_voc/ImageSets/Main/circle_test.txt" > "$seeds/split_files/part.txt"
annotations=("$root"/tests/data/synthetic_voc/Annotations/*.xml)
cp "${annotations[@]:0:20}" "$seeds/voc_xml/"
cat > "$seeds/coco_json/instances.json" <<'EOF'
{"images": [{"id": 42, "file_name": "COCO_val2014_000000000042.jpg", "width": 640, "height": 480},
            {"id": 73, "file_name": "COCO_val2014_000000000073.jpg", "width": 500, "height": 375}],
 "annotations": [{"id": 1, "image_id": 42, "category_id": 18, "bbox": [1, 2, 3, 4]},
                 {"id": 2, "image_id": 42, "category_id": 1, "bbox": [5, 6, 7, 8]}],
 "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}, {"id": 3, "name": "car"}]}
EOF
cat > "$seeds/jsonl_resume/tags.jsonl" <<'EOF'
{"image":"a.jpg","width":20,"height":12,"tags":[{"label":"dog","index":11,"score":0.41}],"scores":{"cat":0.1,"dog":0.41}}
{"image":"b.jpg","error":"no such file"}
{"image":"caf\ufffd.jpg","image_hex":"636166e92e6a7067","error":"x"}
{"image":"c.j
EOF
for image in "$root"/tests/data/images/*; do
  if [[ $(stat -c %s "$image") -le 65536 ]]; then cp "$image" "$seeds/image_decode/"; fi
done
# Inputs that once failed (tests/data/fuzz/<target>/, also read by the unit tests) stay seeds.
for target in "${all[@]}"; do
  if [[ -d "$root/tests/data/fuzz/$target" ]]; then
    cp "$root/tests/data/fuzz/$target"/* "$seeds/$target/"
  fi
done

# Leaks inside LibTorch's archive reader when it refuses a damaged archive are LibTorch's
# (fuzz/lsan.supp says which); every other leak still fails the run.
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp:print_suppressions=0"
findings="$build/findings"

# A CI machine's findings folder is gone with the machine: print each input libFuzzer kept
# (gzip, then base64; at most 262,144 bytes, max_len's limit) so it can be rebuilt from the log.
print_findings() {
  local unit
  { grep -oP 'Test unit written to \K\S+' "$1" || true; } | while read -r unit; do
    [[ -f $unit ]] || continue
    echo "fuzz: $unit ($(stat -c %s "$unit") bytes); rebuild it with: base64 -d | gunzip > FILE" >&2
    gzip -9c "$unit" | base64 -w 100 >&2
    echo "fuzz: end of $unit" >&2
  done
}
mkdir -p "$findings"
printf '%-14s %12s %9s %10s %8s\n' target executions seconds "exec/s" corpus
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  # Whole model seeds (about 120 KB, fuzz/make_checkpoint_seed.cpp) must fit: libFuzzer cuts
  # longer inputs, and a cut archive stops at its zip directory.
  max_len=65536
  case "$target" in checkpoint | safetensors) max_len=262144 ;; esac
  start=$(date +%s.%N)
  # -rss_limit_mb: one input may not hold more; -timeout: one input may not take longer.
  pids=()
  for ((job = 0; job < jobs; job++)); do
    "$build/fuzz/fuzz_$target" "${limit[@]}" -rss_limit_mb=4096 -timeout=60 \
      -max_len="$max_len" -artifact_prefix="$findings/$target-" -print_final_stats=1 \
      "$corpus" "$seeds/$target" > "$findings/$target.$job.log" 2>&1 &
    pids+=($!)
  done
  failed=0
  for ((job = 0; job < jobs; job++)); do
    if ! wait "${pids[$job]}"; then
      failed=1
      echo "fuzz_$target (job $job) failed; its report:" >&2
      grep -E "ERROR|SUMMARY|Test unit written|==[0-9]+==" "$findings/$target.$job.log" |
        head -20 >&2
      print_findings "$findings/$target.$job.log"
    fi
  done
  [[ $failed == 0 ]] || exit 1
  seconds_taken=$(echo "$(date +%s.%N) - $start" | bc)
  runs_done=0
  for ((job = 0; job < jobs; job++)); do
    count=$(grep -oP 'stat::number_of_executed_units: *\K[0-9]+' "$findings/$target.$job.log" ||
      echo 0)
    runs_done=$((runs_done + count))
  done
  printf '%-14s %12s %9.0f %10.0f %8s\n' "$target" "$runs_done" "$seconds_taken" \
    "$(echo "$runs_done / $seconds_taken" | bc -l)" "$(ls "$corpus" | wc -l)"
done
