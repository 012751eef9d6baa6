#include "tagclip/core/shards.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

constexpr const char* kShardPlaceholder = "{shard}";

// A non-negative decimal integer, all of `text`; nullopt otherwise.
std::optional<size_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return static_cast<size_t>(std::stoull(text));
}

size_t environment_number(const EnvironmentLookup& environment, const std::string& name) {
  const std::optional<std::string> value = environment(name);
  const std::optional<size_t> number = value ? parse_count(*value) : std::nullopt;
  if (!number)
    throw UsageError(name + "='" + value.value_or("") + "' is not a non-negative integer");
  return *number;
}

Shard checked(Shard shard) {
  if (shard.count == 0) throw UsageError(shard.source + ": the shard count must be at least 1");
  if (shard.index >= shard.count)
    throw UsageError(shard.source + ": shard index " + std::to_string(shard.index) +
                     " is not below the count " + std::to_string(shard.count) +
                     " (indices run from 0 to count - 1)");
  return shard;
}

Shard slurm_array_shard(const EnvironmentLookup& environment, std::optional<size_t> shards) {
  const size_t id = environment_number(environment, "SLURM_ARRAY_TASK_ID");
  const size_t min = environment("SLURM_ARRAY_TASK_MIN")
                         ? environment_number(environment, "SLURM_ARRAY_TASK_MIN")
                         : 0;
  std::optional<size_t> count;
  if (environment("SLURM_ARRAY_TASK_COUNT")) {
    count = environment_number(environment, "SLURM_ARRAY_TASK_COUNT");
  } else if (environment("SLURM_ARRAY_TASK_MAX")) {
    const size_t max = environment_number(environment, "SLURM_ARRAY_TASK_MAX");
    if (max < min) throw UsageError("SLURM_ARRAY_TASK_MAX is below SLURM_ARRAY_TASK_MIN");
    count = max - min + 1;
  }
  if (count && shards && *count != *shards)
    throw UsageError("--shards " + std::to_string(*shards) + " disagrees with the Slurm array's " +
                     std::to_string(*count) + " tasks");
  if (!count) count = shards;
  if (!count)
    throw UsageError(
        "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor "
        "SLURM_ARRAY_TASK_MAX: give --shards N");
  if (id < min) throw UsageError("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN");
  Shard shard{id - min, *count, "SLURM_ARRAY_TASK_ID"};
  if (shard.index >= shard.count)
    throw UsageError("Slurm array task " + std::to_string(id) + " of " + std::to_string(*count) +
                     " tasks from " + std::to_string(min) +
                     ": the array must be one contiguous range such as --array=0-" +
                     std::to_string(*count - 1) + " (no steps or gaps), or give --shard i/N");
  return shard;
}

}  // namespace

std::string Shard::suffix() const {
  // Both numbers as wide as the count (at least five digits), so the files sort by index.
  const size_t width = std::max<size_t>(5, std::to_string(count).size());
  auto padded = [width](size_t n) {
    const std::string digits = std::to_string(n);
    return std::string(width - digits.size(), '0') + digits;
  };
  return padded(index) + "-of-" + padded(count);
}

std::string Shard::to_string() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text, const std::string& flag) {
  const size_t slash = text.find('/');
  const std::optional<size_t> index =
      slash == std::string::npos ? std::nullopt : parse_count(text.substr(0, slash));
  const std::optional<size_t> count =
      slash == std::string::npos ? std::nullopt : parse_count(text.substr(slash + 1));
  if (!index || !count)
    throw UsageError(flag + " '" + text + "': expected INDEX/COUNT, such as 3/16 (0-based)");
  return checked({*index, *count, flag});
}

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::optional<Shard> resolve_shard(const std::string& shard_option, std::optional<size_t> shards,
                                   const EnvironmentLookup& environment) {
  if (shards && *shards == 0) throw UsageError("--shards must be at least 1");
  if (shard_option == "off") return std::nullopt;
  if (!shard_option.empty()) {
    Shard shard = parse_shard(shard_option);
    if (shards && *shards != shard.count)
      throw UsageError("--shard " + shard_option + " and --shards " + std::to_string(*shards) +
                       " disagree on the count");
    return shard;
  }
  if (environment("JOB_COMPLETION_INDEX")) {
    if (!shards)
      throw UsageError(
          "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the Job's "
          "completions as --shards N");
    return checked(
        {environment_number(environment, "JOB_COMPLETION_INDEX"), *shards, "JOB_COMPLETION_INDEX"});
  }
  if (environment("SLURM_ARRAY_TASK_ID")) return slurm_array_shard(environment, shards);
  if (shards)
    throw UsageError(
        "--shards N needs this process's index: --shard i/N, or run it as a Slurm array task "
        "(SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)");
  return std::nullopt;
}

std::vector<size_t> shard_members(const std::vector<std::string>& keys, const Shard& shard) {
  std::vector<size_t> by_key(keys.size());
  std::iota(by_key.begin(), by_key.end(), size_t{0});
  std::stable_sort(by_key.begin(), by_key.end(),
                   [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<size_t> members;
  for (size_t rank = shard.index; rank < by_key.size(); rank += shard.count)
    members.push_back(by_key[rank]);
  std::sort(members.begin(), members.end());
  return members;
}

namespace {

std::string with_suffix(const std::string& path, const std::string& suffix) {
  if (path.empty() || path == "-") return path;
  if (path.find(kShardPlaceholder) != std::string::npos) {
    std::string out = path;
    for (size_t at = out.find(kShardPlaceholder); at != std::string::npos;
         at = out.find(kShardPlaceholder, at + suffix.size()))
      out.replace(at, std::string(kShardPlaceholder).size(), suffix);
    return out;
  }
  const std::filesystem::path file(path);
  const std::string extension = file.extension().string();  // "" for "tags" and ".hidden"
  std::filesystem::path sharded = file;
  sharded.replace_filename(file.stem().string() + "." + suffix + extension);
  return sharded.string();
}

}  // namespace

std::string shard_output_path(const std::string& path, const Shard& shard) {
  return with_suffix(path, shard.suffix());
}

std::string shard_files_pattern(const std::string& path, size_t count) {
  const std::string suffix = Shard{0, count, ""}.suffix();
  return with_suffix(path, "*" + suffix.substr(suffix.find("-of-")));
}

}  // namespace tagclip
