#include "shard_options.h"

#include <spdlog/spdlog.h>

namespace tagclip::cli {

void add_shard_options(CLI::App& command, ShardOptions& options) {
  command
      .add_option("--shard", options.shard,
                  "Take shard I of N (0-based, I/N) of the images: every process of a run "
                  "given the same inputs computes the same partition (by path, whatever the "
                  "listing order; sizes differ by at most one), and each writes its own "
                  "outputs, -o out/tags.jsonl becoming out/tags.0000I-of-0000N.jsonl (or "
                  "'{shard}' in a path replaced). Default: a Slurm array task's "
                  "SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT, "
                  "or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX of --shards; 'off' "
                  "ignores them. `tagclip merge` joins the shards' outputs")
      ->group("Sharding");
  command
      .add_option("--shards", options.count,
                  "The number of shards when the scheduler does not say (Kubernetes: the "
                  "Job's completions)")
      ->check(CLI::Range(1, 1000000))
      ->group("Sharding");
}

std::optional<Shard> resolve_shard(const ShardOptions& options) {
  return tagclip::resolve_shard(options.shard, options.count, process_environment());
}

std::vector<size_t> select_shard_members(const Shard& shard, const std::vector<std::string>& keys,
                                         const std::string& output) {
  std::vector<size_t> members = shard_members(keys, shard);
  spdlog::info("shard {} ({}): {} of {} images{}", shard.to_string(), shard.source, members.size(),
               keys.size(), output.empty() || output == "-" ? std::string() : " -> " + output);
  return members;
}

}  // namespace tagclip::cli
