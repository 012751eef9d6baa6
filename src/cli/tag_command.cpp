#include "tag_command.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "exit_codes.h"
#include "image_input_options.h"
#include "output_paths.h"
#include "progress.h"
#include "shard_options.h"
#include "tag_run.h"
#include "tagger_pool.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/core/stage_profile.h"
#include "tagclip/model/cuda_support.h"
#include "tagclip/model/device.h"
#include "tagclip/errors.h"
#include "tagger_options.h"

namespace tagclip::cli {
namespace {

struct TagCommandOptions {
  TaggerConfig config;
  ImageInputOptions images;
  std::string output = "-", labels_out, meta_out, visualize_dir;
  bool resume = false;
  bool profile = false;
  ShardOptions shard;
};

void write_meta(const std::string& path, const Tagger& tagger, const TagRunSummary& summary,
                const std::optional<Shard>& shard) {
  nlohmann::ordered_json meta = {{"tagclip_version", TAGCLIP_VERSION},
                                 {"model", tagger.config().model_path},
                                 {"architecture", tagger.model().architecture().to_json()},
                                 {"vocabulary", tagger.vocabulary().name},
                                 {"classes", tagger.vocabulary().classes},
                                 {"background", tagger.vocabulary().background},
                                 {"templates", tagger.config().templates},
                                 {"precision", to_string(tagger.config().precision)},
                                 {"options", tagger.options().to_string()},
                                 {"images_tagged", summary.tagged},
                                 {"images_failed", summary.failed},
                                 {"images_skipped", summary.skipped},
                                 {"seconds", summary.seconds}};
  if (shard) meta["shard"] = shard->to_string();
  write_file_atomically(path, meta.dump(2) + "\n");
}

}  // namespace

void register_tag_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TagCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tag",
      "Tag images with every class of a vocabulary they contain (TagCLIP). Writes one JSON "
      "object per image, in input order: {\"image\", \"width\", \"height\", \"tags\": [{\"label\", "
      "\"index\", \"score\"}...], \"scores\": {class: score, ...}}, or {\"image\", \"error\"} "
      "when an image fails (the run goes on).\nExit status: 0 all tagged, 1 some images "
      "failed, 2 usage error, 3 model/tokenizer/vocabulary could not be loaded, 4 an output "
      "could not be written (disk full, ...).");
  add_image_input_options(*cmd, o->images);
  add_tagger_options(*cmd, o->config);

  cmd->add_option("-o,--output", o->output, "JSON Lines output; - for standard output")
      ->capture_default_str()
      ->group("Output");
  cmd->add_flag("--resume", o->resume,
                "Skip images already recorded in --output and append the rest")
      ->group("Output");
  cmd->add_option("--labels-out", o->labels_out,
                  "Also write the reference's split format: 'id idx idx ...' per image (the "
                  "arg max when no tag passes), for CLIP-ES")
      ->group("Output");
  cmd->add_option("--meta-out", o->meta_out,
                  "Write run metadata (model, vocabulary, options, counts) as JSON to this file")
      ->group("Output");
  cmd->add_option("--visualize", o->visualize_dir,
                  "Write DIR/<id>.png per image: the tags and each tag's refined patch map as a "
                  "heat map")
      ->group("Output");
  cmd->add_option("--top-k", o->config.top_k,
                  "Report at most K tags per image (default: every tag)")
      ->check(CLI::Range(1, 1000000))
      ->group("Output");
  cmd->add_option("--min-score", o->config.min_score,
                  "Drop tags scoring below this (default: none dropped)")
      ->group("Output");

  cmd->add_flag("--profile", o->profile,
                "Print where the time went when the run ends: seconds per stage (model load, "
                "text embeddings, decode, resize, patch embedding, each block's attention and "
                "MLP, DMAR, CWR, labels, output), summed over the images, on standard error")
      ->group("Output");
  add_shard_options(*cmd, o->shard);

  cmd->callback([o, &exit_code] {
    const auto start = std::chrono::steady_clock::now();
    StageProfile::instance().set_enabled(o->profile);
    const std::optional<Shard> shard = resolve_shard(o->shard);
    ImageInputs inputs = gather_image_inputs(o->images);
    for (const std::string& warning : inputs.warnings) spdlog::warn("{}", warning);
    if (inputs.images.empty()) throw UsageError("no images to tag");
    auto shard_path = [&](const std::string& path) {
      return shard ? shard_output_path(path, *shard) : path;
    };
    TagRunOptions run;
    run.output = shard_path(o->output);
    // An empty shard (more shards than images) still writes its empty outputs, so the merge
    // finds every shard's file.
    if (shard)
      inputs.images = keep_shard(
          *shard, inputs.images, [](const ImageInput& input) { return input.path; }, run.output);
    o->config.keep_patch_maps = !o->visualize_dir.empty();
    run.labels_out = shard_path(o->labels_out);
    const std::string meta_out = shard_path(o->meta_out);
    // Checked now, not after the run: a typo in a folder name costs nothing.
    prepare_output_path(run.labels_out, "--labels-out");
    prepare_output_path(meta_out, "--meta-out");
    // On a GPU each stage waits for its kernels, so the profile says where GPU time goes.
    if (o->profile) {
      const c10::Device device = parse_device(parse_device_list(o->config.device).front());
      if (device.is_cuda())
        StageProfile::instance().set_boundary_wait([device] { synchronize(device); });
    }
    const std::vector<Tagger> taggers = load_taggers(o->config);
    const Tagger& tagger = taggers.front();

    run.resume = o->resume;
    run.visualize_dir = o->visualize_dir;
    run.quiet = spdlog::get_level() > spdlog::level::info;
    run.interactive = stderr_is_terminal();
    const TagRunSummary summary = run_tagging(inputs, taggers, run);
    if (!meta_out.empty()) write_meta(meta_out, tagger, summary, shard);
    if (o->profile) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << "stage profile (" << to_string(tagger.config().precision) << ", "
                << at::get_num_threads() << " threads):\n"
                << format_stage_profile(StageProfile::instance().totals(),
                                        summary.tagged + summary.failed, wall);
    }
    exit_code = summary.failed > 0 ? kExitSomeImagesFailed : kExitOk;
  });
}

}  // namespace tagclip::cli
