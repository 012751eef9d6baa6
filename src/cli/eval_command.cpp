#include "eval_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "exit_codes.h"
#include "output_paths.h"
#include "progress.h"
#include "shard_options.h"
#include "tag_run.h"
#include "tagger_pool.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/core/vocabulary.h"
#include "tagclip/errors.h"
#include "tagclip/eval/coco_ground_truth.h"
#include "tagclip/eval/eval_plot.h"
#include "tagclip/eval/eval_predictions.h"
#include "tagclip/eval/eval_report.h"
#include "tagclip/eval/voc_ground_truth.h"
#include "tagclip/io/file_patterns.h"
#include "tagger_options.h"

namespace tagclip::cli {
namespace {

struct EvalCommandOptions {
  std::string dataset;
  std::string voc_root, voc_split, difficult = "include";
  std::string coco_annotations, coco_images;
  bool keep_empty = false;
  std::string split_file, image_root, extension = ".jpg";

  std::vector<std::string> predictions;
  TaggerConfig config;
  std::string output;
  bool resume = false;
  ShardOptions shard;

  std::vector<int> top_k;
  bool per_class_f1 = false, per_sample_f1 = false, allow_missing = false;
  std::string report_json, plot;
};

// How many ids a message or the report lists before "and N more".
constexpr size_t kListedIds = 10;

std::string listed(const std::vector<std::string>& ids) {
  std::string text;
  for (size_t k = 0; k < ids.size() && k < kListedIds; ++k) text += (k ? ", " : "") + ids[k];
  if (ids.size() > kListedIds)
    text += ", ... (" + std::to_string(ids.size() - kListedIds) + " more)";
  return text;
}

// --classes FILE: the ground truth names (or, in a split file, indexes) the file's classes,
// a benchmark in the dataset's layout with classes of its own. A built-in vocabulary keeps
// the dataset's classes, so `--dataset voc2007 --classes coco` stays a mismatch error.
ClassList ground_truth_classes(const EvalCommandOptions& o, bool classes_given) {
  if (!classes_given || find_builtin_vocabulary(o.config.classes) != nullptr) return {};
  return {o.config.classes, load_vocabulary(o.config.classes).classes};
}

GroundTruth read_ground_truth(const EvalCommandOptions& o, Dataset dataset, bool classes_given) {
  const ClassList classes = ground_truth_classes(o, classes_given);
  const bool voc = dataset == Dataset::kVoc2007 || dataset == Dataset::kVoc2012;
  const bool coco = dataset == Dataset::kCoco2014 || dataset == Dataset::kCoco2017;
  if (!o.split_file.empty()) {
    if (!o.voc_root.empty() || !o.coco_annotations.empty())
      throw UsageError("give one ground truth: --split-file, --root (VOC) or --annotations (COCO)");
    return read_split_ground_truth(o.split_file, dataset, o.image_root, o.extension, classes);
  }
  if (voc) {
    if (o.voc_root.empty())
      throw UsageError("--dataset " + o.dataset +
                       " needs --root VOCdevkit/VOC20xx or --split-file");
    return read_voc_ground_truth(
        {o.voc_root, o.voc_split, parse_difficult_objects(o.difficult), classes}, dataset);
  }
  if (coco) {
    if (o.coco_annotations.empty())
      throw UsageError("--dataset " + o.dataset +
                       " needs --annotations instances_*.json or --split-file");
    return read_coco_ground_truth({o.coco_annotations, o.coco_images, o.keep_empty, classes},
                                  dataset);
  }
  throw UsageError(
      "--dataset cocostuff needs --split-file (the authors' cocostuff/val.txt format)");
}

// Tags every ground-truth image (or, sharded, the shard's) into o.output (resumable).
TagRunSummary tag_ground_truth_images(EvalCommandOptions& o, const GroundTruth& truth,
                                      bool classes_given, const std::optional<Shard>& shard) {
  if (o.output.empty() || o.output == "-")
    throw UsageError(
        "tagging needs -o/--output FILE for the predictions (or give --predictions "
        "FILE to score an existing `tagclip tag` output)");
  ImageInputs inputs;
  for (const GroundTruthImage& image : truth.images) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(image.image_path, ec);
    inputs.images.push_back({image.image_path, image.id, exists ? "" : "no such file"});
  }
  TagRunOptions run;
  run.output = shard ? shard_output_path(o.output, *shard) : o.output;
  if (shard)
    inputs.images = keep_shard(
        *shard, inputs.images, [](const ImageInput& input) { return input.path; }, run.output);
  if (!classes_given) o.config.classes = dataset_vocabulary(truth.dataset);
  const std::vector<Tagger> taggers = load_taggers(o.config);
  const Tagger& tagger = taggers.front();
  // Fail before hours of tagging, not after: the scores must cover exactly these classes.
  std::vector<std::string> tagged = tagger.vocabulary().classes, expected = truth.classes;
  std::sort(tagged.begin(), tagged.end());
  std::sort(expected.begin(), expected.end());
  if (tagged != expected)
    throw UsageError("--classes " + o.config.classes + " is not the " +
                     std::to_string(expected.size()) + " " + dataset_vocabulary(truth.dataset) +
                     " classes of the ground truth");
  run.resume = o.resume;
  run.quiet = spdlog::get_level() > spdlog::level::info;
  run.interactive = stderr_is_terminal();
  return run_tagging(inputs, taggers, run);
}

void write_report(const EvalCommandOptions& o, const EvalReport& report, const GroundTruth& truth,
                  const Predictions& predictions, const MatchedPredictions& matched) {
  nlohmann::ordered_json json = report_json(report);
  json["dataset"] = dataset_name(truth.dataset);
  json["ground_truth"] = truth.source;
  json["ground_truth_images"] = truth.images.size();
  json["predictions"] = predictions.path;
  json["prediction_files"] = predictions.files;
  json["missing_predictions"] = matched.missing.size();
  json["failed_predictions"] = matched.failed.size();
  json["unexpected_predictions"] = matched.unexpected.size();
  json["warnings"] = truth.warnings;
  write_file_atomically(o.report_json, json.dump(2) + "\n");
}

int run_eval(EvalCommandOptions& o, bool model_given, bool classes_given) {
  const Dataset dataset = parse_dataset(o.dataset);
  const bool shard_given = !o.shard.shard.empty() || o.shard.count.has_value();
  if (!o.predictions.empty() && (model_given || !o.output.empty() || o.resume || shard_given))
    throw UsageError(
        "--predictions scores existing files; --model/--output/--resume/--shard tag the "
        "images anew: give one or the other");
  const std::optional<Shard> shard =
      o.predictions.empty() ? resolve_shard(o.shard) : std::optional<Shard>();
  prepare_output_path(o.report_json, "--report-json");
  prepare_output_path(o.plot, "--plot");
  const GroundTruth truth = read_ground_truth(o, dataset, classes_given);
  spdlog::info("ground truth {}: {} images, {} classes ({})", dataset_name(dataset),
               truth.images.size(), truth.classes.size(), truth.source);
  for (const std::string& warning : truth.warnings) spdlog::warn("ground truth: {}", warning);

  if (o.predictions.empty()) {
    const TagRunSummary tagged = tag_ground_truth_images(o, truth, classes_given, shard);
    if (shard) {
      // One shard holds part of the ground truth: scoring waits for all of them.
      spdlog::info(
          "shard {} tagged; when every shard is done, score them together with "
          "`tagclip eval --predictions '{}'` (same ground-truth options)",
          shard->to_string(), shard_files_pattern(o.output, shard->count));
      return tagged.failed > 0 ? kExitSomeImagesFailed : kExitOk;
    }
  }
  const Predictions predictions =
      read_predictions(o.predictions.empty() ? std::vector<std::string>{o.output}
                                             : expand_file_patterns(o.predictions));
  if (predictions.duplicates > 0)
    spdlog::warn("{}: {} repeated records of already scored images ignored", predictions.path,
                 predictions.duplicates);
  const MatchedPredictions matched = match_predictions(truth, predictions);
  if (!matched.missing.empty())
    spdlog::warn("{} of {} ground-truth images have no prediction ({} failed to tag): {}",
                 matched.missing.size(), truth.images.size(), matched.failed.size(),
                 listed(matched.missing));
  if (!matched.unexpected.empty())
    spdlog::warn("{} predicted images are not in the ground truth: {}", matched.unexpected.size(),
                 listed(matched.unexpected));
  if ((!matched.missing.empty() || !matched.unexpected.empty()) && !o.allow_missing) {
    spdlog::error(
        "images differ between predictions and ground truth; --allow-missing scores "
        "the {} images on both sides",
        matched.image_ids.size());
    return kExitSomeImagesFailed;
  }

  EvalOptions options;
  options.threshold = o.config.label_ratio.value_or(dataset_threshold(dataset));
  options.top_k = o.top_k;
  const EvalReport report = evaluate(matched.data, truth.classes, options);
  std::cout << format_report_table(report, {o.per_class_f1, o.per_sample_f1}) << std::flush;
  if (!o.report_json.empty()) write_report(o, report, truth, predictions, matched);
  if (!o.plot.empty()) write_eval_plot(o.plot, matched.data, report);
  return kExitOk;
}

void add_ground_truth_options(CLI::App& cmd, EvalCommandOptions& o) {
  cmd.add_option("--dataset", o.dataset,
                 "voc2007, voc2012, coco2014, coco2017 or cocostuff: the class list, the "
                 "default F1 threshold and the ground-truth layout")
      ->required()
      ->group("Ground truth");
  cmd.add_option("--root", o.voc_root, "VOC: the devkit year folder (VOCdevkit/VOC2007)")
      ->group("Ground truth");
  cmd.add_option("--split", o.voc_split,
                 "VOC: ImageSets/Main/SPLIT.txt, or ImageSets/SPLIT.txt if it holds a / "
                 "(Segmentation/val); default test (2007), val (2012)")
      ->group("Ground truth");
  cmd.add_option("--difficult", o.difficult,
                 "VOC: include or exclude objects marked difficult (the authors' split files "
                 "include them)")
      ->capture_default_str()
      ->check(CLI::IsMember({"include", "exclude"}))
      ->group("Ground truth");
  cmd.add_option("--annotations", o.coco_annotations, "COCO: instances_val2014.json or similar")
      ->group("Ground truth");
  cmd.add_option("--images", o.coco_images, "COCO: the folder of the images (val2014/)")
      ->group("Ground truth");
  cmd.add_flag("--keep-empty", o.keep_empty,
               "COCO: keep images without annotations as all-negative (the paper's split "
               "drops them: 40,137 of 40,504 val2014 images)")
      ->group("Ground truth");
  cmd.add_option("--split-file", o.split_file,
                 "The authors' split format, 'id idx idx ...' per line (COCO-Stuff: 182-class "
                 "ids, mapped to the 171 classes)")
      ->group("Ground truth");
  cmd.add_option("--image-root", o.image_root, "Split file: folder of the images (ID + --ext)")
      ->group("Ground truth");
  cmd.add_option("--ext", o.extension, "Split file: image extension")
      ->capture_default_str()
      ->group("Ground truth");
}

}  // namespace

void register_eval_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvalCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Score multi-label predictions against a benchmark's ground truth with the authors' "
      "metrics: per-class AP and mAP, overall F1/P/R at the relative threshold. Either "
      "--predictions FILE (output of `tagclip tag`), or tag the split's images with the model "
      "into --output FILE (resumable) and score them. Images are matched by file stem. "
      "--threshold sets the F1 threshold too (default 0.5; 0.1 for cocostuff); --classes "
      "defaults to the dataset's vocabulary, and a class file scores a benchmark in the "
      "dataset's layout with classes of its own (VOC object names, COCO category names or "
      "split-file indices refer to the file's classes).\n"
      "Exit status: 0 scored, 1 images missing on either side (without --allow-missing), "
      "2 usage error, 3 ground truth, predictions or model could not be read, 4 the report or "
      "the plot could not be written.");
  add_ground_truth_options(*cmd, *o);
  cmd->add_option("--predictions", o->predictions,
                  "JSON Lines written by `tagclip tag`: one file, or several (the shards of one "
                  "run), as names or quoted patterns such as 'out/tags.*-of-00016.jsonl'")
      ->group("Predictions");
  cmd->add_option("-o,--output", o->output, "Tagging: where the predictions are written")
      ->group("Predictions");
  cmd->add_flag("--resume", o->resume, "Tagging: keep the images already in --output")
      ->group("Predictions");
  add_tagger_options(*cmd, o->config);
  add_shard_options(*cmd, o->shard);
  // eval's vocabulary follows --dataset unless given; say so instead of tag's "voc".
  cmd->get_option("--classes")
      ->default_str("the dataset's")
      ->description(
          "Vocabulary: default the dataset's (voc, coco or cocostuff); a UTF-8 class file "
          "(one class per line) scores a benchmark in the dataset's layout with its own "
          "classes");

  cmd->add_option("--top-k", o->top_k, "Also report F1/P/R of the K best classes per image")
      ->expected(1, 16)
      ->check(CLI::Range(1, 1000000))  // PositiveNumber's message prints DBL_MAX in full
      ->group("Metrics");
  cmd->add_flag("--per-class-f1", o->per_class_f1,
                "Show P/R/F1 of each class and their means (compute_F1 'category')")
      ->group("Metrics");
  cmd->add_flag("--per-sample-f1", o->per_sample_f1,
                "Show the mean per-image P/R/F1 (compute_F1 'sample')")
      ->group("Metrics");
  cmd->add_flag("--allow-missing", o->allow_missing,
                "Score the images present on both sides instead of failing")
      ->group("Metrics");
  cmd->add_option("--report-json", o->report_json, "Write every number as JSON (fractions)")
      ->group("Output");
  cmd->add_option("--plot", o->plot, "Draw per-class AP bars and PR curves into this PNG")
      ->group("Output");

  cmd->callback([o, cmd, &exit_code] {
    exit_code = run_eval(*o, cmd->count("--model") > 0, cmd->count("--classes") > 0);
  });
}

}  // namespace tagclip::cli
