#include "merge_command.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "exit_codes.h"
#include "image_input_options.h"
#include "run_setup.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/core/shards.h"
#include "tagclip/core/tag_record.h"
#include "tagclip/errors.h"
#include "tagclip/io/file_patterns.h"
#include "tagclip/io/shard_merge.h"

namespace tagclip::cli {
namespace {

struct MergeCommandOptions {
  ImageInputOptions images;
  std::string output;
  std::optional<size_t> shards;
  std::vector<std::string> parts;
  std::string labels_out;
  bool allow_incomplete = false;
};

// How many paths a message lists before "and N more".
constexpr size_t kListed = 20;

void log_problems(const std::string& what, const std::vector<std::string>& items) {
  if (items.empty()) return;
  spdlog::error("{} {}:", items.size(), what);
  for (size_t k = 0; k < items.size() && k < kListed; ++k) spdlog::error("  {}", items[k]);
  if (items.size() > kListed) spdlog::error("  ... and {} more", items.size() - kListed);
}

// The shard files to merge: --parts as given (patterns expanded), or the N files that
// `tag --shard i/N -o OUTPUT` writes. Absent shard files are collected in `absent`.
std::vector<std::string> shard_files(const MergeCommandOptions& o,
                                     std::vector<std::string>& absent) {
  if (o.shards && !o.parts.empty()) throw UsageError("give --shards N or --parts, not both");
  if (!o.parts.empty()) return expand_file_patterns(o.parts);
  if (!o.shards)
    throw UsageError(
        "which files? --shards N (the files `tag --shard i/N -o OUTPUT` wrote) or --parts "
        "FILE|PATTERN...");
  if (o.output == "-" || o.output.find("{shard}") != std::string::npos)
    throw UsageError(
        "--shards N finds the shard files from -o OUTPUT, the path given to tag; for a "
        "'{shard}' pattern use --parts with '*' in its place");
  std::vector<std::string> files;
  for (size_t k = 0; k < *o.shards; ++k) {
    const std::string path = shard_output_path(o.output, Shard{k, *o.shards, "--shards"});
    std::error_code ec;
    if (std::filesystem::exists(path, ec))
      files.push_back(path);
    else
      absent.push_back(path);
  }
  return files;
}

void write_labels(const std::string& path, const std::vector<ImageInput>& inputs,
                  const MergePlan& plan) {
  std::string text;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const ShardRecordLocation& record = plan.records[k];
    if (record.file == MergePlan::kMissing) continue;
    if (!record.tag_record)
      throw UsageError(plan.files[record.file] + ":" + std::to_string(record.line_number) +
                       ": --labels-out needs `tagclip tag` records, this is not one");
    if (!record.split_labels.empty()) text += split_file_line(inputs[k].id, record.split_labels);
  }
  write_file_atomically(path, text);
}

int run_merge(const MergeCommandOptions& o) {
  if (o.output.empty()) throw UsageError("-o/--output is required: where the merged file goes");
  const ImageInputs inputs = gather_image_inputs(o.images);
  for (const std::string& warning : inputs.warnings) spdlog::warn("{}", warning);
  std::vector<std::string> absent;
  const std::vector<std::string> files = shard_files(o, absent);
  for (const std::string& file : files)
    if (file == o.output) throw UsageError(file + " is both a shard file and the merged output");
  const nlohmann::ordered_json setup = agreed_shard_setup(files);
  const MergePlan plan = plan_shard_merge(inputs.images, files);
  spdlog::info("{} records in {} shard files for {} inputs", plan.records_read, files.size(),
               inputs.images.size());

  log_problems("shard files are missing (their tasks never wrote them)", absent);
  log_problems("inputs have no record", plan.missing);
  log_problems("inputs have more records than the inputs list them", plan.duplicated);
  log_problems("records are of images not among the inputs (other inputs than the run's?)",
               plan.unexpected);
  const bool complete = plan.complete() && absent.empty();
  if (!complete && !o.allow_incomplete) {
    spdlog::error(
        "nothing written; run the missing shards again (with --resume), or --allow-incomplete "
        "writes the {} records found",
        inputs.images.size() - plan.missing.size());
    return kExitSomeImagesFailed;
  }
  write_shard_merge(plan, o.output);
  // The shards' common setup, so the merged file resumes and merges as a run's output does.
  std::error_code ec;
  if (!setup.is_null() && o.output != "-" && std::filesystem::is_regular_file(o.output, ec))
    write_file_atomically(setup_path_for(o.output), setup.dump(2) + "\n");
  if (!o.labels_out.empty()) write_labels(o.labels_out, inputs.images, plan);
  spdlog::info("merged {} records into {}", inputs.images.size() - plan.missing.size(),
               o.output == "-" ? "standard output" : o.output);
  return kExitOk;
}

}  // namespace

void register_merge_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<MergeCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "merge",
      "Join the outputs of a sharded run (tag, eval -o or segment with --shard, or a Slurm or "
      "Kubernetes array) into one JSON Lines file in input order: byte for byte what one "
      "process would have written. Give the same inputs as the run. Checks that every input "
      "has exactly one record and lists the missing and duplicated ones.\nExit status: 0 "
      "merged, 1 records missing, duplicated or unexpected (nothing written without "
      "--allow-incomplete), 2 usage error, 3 a shard file could not be read, 4 the output "
      "could not be written.");
  add_image_input_options(*cmd, o->images);
  cmd->add_option("-o,--output", o->output,
                  "The merged file (written under a temporary name, then renamed); with "
                  "--shards, also the -o the shards were given")
      ->required()
      ->group("Output");
  cmd->add_option("--shards", o->shards,
                  "Merge the N files OUTPUT.0000I-of-0000N.EXT that `--shard I/N -o OUTPUT` "
                  "wrote")
      ->check(CLI::Range(1, 1000000))
      ->group("Shards");
  cmd->add_option("--parts", o->parts,
                  "Merge these files instead: names or quoted patterns ('out/*/tags.jsonl')")
      ->group("Shards");
  cmd->add_option("--labels-out", o->labels_out,
                  "Also write the reference's split format, 'id idx idx ...' per tagged image, "
                  "as `tag --labels-out` does")
      ->group("Output");
  cmd->add_flag("--allow-incomplete", o->allow_incomplete,
                "Write what is there when records are missing or repeated (the first of each "
                "repeated image is kept)")
      ->group("Output");
  cmd->callback([o, &exit_code] { exit_code = run_merge(*o); });
}

}  // namespace tagclip::cli
