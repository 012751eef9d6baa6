// Splitting one run's images over N independent processes (Slurm job arrays, Kubernetes
// Indexed Jobs, plain shell loops) with no coordinator: every process computes the same
// partition from the same input list, and each writes its own output file.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tagclip {

struct Shard {
  size_t index = 0;  // 0-based, < count
  size_t count = 1;
  std::string source;  // where index and count came from: "--shard", "SLURM_ARRAY_TASK_ID", ...

  // "00003-of-00016", as in tags.00003-of-00016.jsonl: both numbers as wide as the count, at
  // least five digits.
  std::string suffix() const;
  // "3/16"
  std::string to_string() const;
};

// "i/N" with 0 <= i < N. Throws UsageError naming `flag` for anything else.
Shard parse_shard(const std::string& text, const std::string& flag = "--shard");

// Looks up an environment variable; nullopt when unset. Tests pass a map instead of getenv.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvironmentLookup process_environment();

// Which shard this process is, from (in this order):
//   shard_option "i/N"      -> that shard ("off": no sharding, whatever the scheduler says)
//   JOB_COMPLETION_INDEX    -> Kubernetes Indexed Job; the count must come from `shards`
//   SLURM_ARRAY_TASK_ID     -> Slurm job array: index ID - SLURM_ARRAY_TASK_MIN, count
//                              SLURM_ARRAY_TASK_COUNT (or MAX - MIN + 1)
// `shards` (--shards N) gives the count where the scheduler does not, and is checked against
// Slurm's. nullopt: not sharded. Throws UsageError for a malformed value, an index outside
// the count, an array with steps (--array=0-15:2), or --shards without an index.
std::optional<Shard> resolve_shard(const std::string& shard_option, std::optional<size_t> shards,
                                   const EnvironmentLookup& environment);

// The positions (ascending, so still in input order) of the inputs that belong to `shard`.
// The inputs are ranked by key (the image path), ties by position, and rank r goes to
// shard r mod N: the partition depends only on the set of keys, not on the order they were
// listed in, and shard sizes differ by at most one.
std::vector<size_t> shard_members(const std::vector<std::string>& keys, const Shard& shard);

// The shard's own file for an output path: "{shard}" in the path is replaced by the suffix;
// otherwise the suffix goes before the file's extension ("out/tags.jsonl" ->
// "out/tags.00003-of-00016.jsonl"; "out/tags" -> "out/tags.00003-of-00016"). "-" (standard
// output) and "" stay as they are.
std::string shard_output_path(const std::string& path, const Shard& shard);

// The pattern that matches every shard's file of `path` ("out/tags.*-of-00016.jsonl"), for
// `eval --predictions` and messages.
std::string shard_files_pattern(const std::string& path, size_t count);

}  // namespace tagclip
