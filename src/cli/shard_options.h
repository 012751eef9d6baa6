// --shard and --shards, shared by the commands that walk a list of images (tag, eval -o,
// segment): which part of the list this process takes, and the files it writes for it.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/core/shards.h"

namespace tagclip::cli {

struct ShardOptions {
  std::string shard;            // "i/N", "off" or "" (ask the scheduler's variables)
  std::optional<size_t> count;  // --shards N
};

void add_shard_options(CLI::App& command, ShardOptions& options);

// The shard this process runs, from the options or the scheduler's environment.
std::optional<Shard> resolve_shard(const ShardOptions& options);

// The positions of `keys` (image paths, in input order) that `shard` holds, logged as
// "shard 3/16 (SLURM_ARRAY_TASK_ID): 2531 of 40504 images -> out/tags.00003-of-00016.jsonl".
std::vector<size_t> select_shard_members(const Shard& shard, const std::vector<std::string>& keys,
                                         const std::string& output);

// The items of `shard`, in input order; `path_of(item)` is the image path it is ranked by.
template <typename Item, typename PathOf>
std::vector<Item> keep_shard(const Shard& shard, const std::vector<Item>& items, PathOf path_of,
                             const std::string& output) {
  std::vector<std::string> paths;
  for (const Item& item : items) paths.push_back(path_of(item));
  std::vector<Item> members;
  for (size_t k : select_shard_members(shard, paths, output)) members.push_back(items[k]);
  return members;
}

}  // namespace tagclip::cli
