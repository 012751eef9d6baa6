#include "segment_command.h"

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "exit_codes.h"
#include "progress.h"
#include "segment_run.h"
#include "shard_options.h"
#include "tagclip/errors.h"
#include "tagger_options.h"

namespace tagclip::cli {
namespace {

struct SegmentCommandOptions {
  TaggerConfig tagging;  // model, vocabulary and images; the method when tagging first
  double bg_power = 1.0;
  bool crf = false;
  bool crf_plain_image = false;
  int crf_iterations = DenseCrfOptions{}.iterations;
  std::vector<std::string> inputs;
  std::string labels_file, labels_from, image_root, extension = ".jpg";
  SegmentRunOptions run;
  ShardOptions shard;
};

std::vector<LabelledImage> gather_images(const SegmentCommandOptions& o) {
  const int sources = (o.inputs.empty() ? 0 : 1) + (o.labels_file.empty() ? 0 : 1) +
                      (o.labels_from.empty() ? 0 : 1);
  if (sources == 0)
    throw UsageError(
        "nothing to segment: give --labels SPLITFILE --image-root DIR, --labels-from "
        "TAGS.jsonl, or images to tag first (files, folders, @LIST or -)");
  if (sources > 1)
    throw UsageError("give one source of images: INPUT..., --labels or --labels-from");
  if (!o.labels_file.empty()) {
    if (o.image_root.empty()) throw UsageError("--labels needs --image-root DIR");
    return read_labelled_split_file(o.labels_file, o.image_root, o.extension);
  }
  if (!o.labels_from.empty()) return read_labels_from_tag_records(o.labels_from);
  const ImageInputs inputs = collect_image_inputs(o.inputs, std::cin);
  for (const std::string& warning : inputs.warnings) spdlog::warn("{}", warning);
  std::vector<LabelledImage> images;
  for (const ImageInput& input : inputs.images) images.push_back({input, std::nullopt});
  return images;
}

SegmenterConfig segmenter_config(const SegmentCommandOptions& o) {
  SegmenterConfig config;
  config.model_path = o.tagging.model_path;
  config.bpe_path = o.tagging.bpe_path;
  config.device = o.tagging.device;
  config.threads = o.tagging.threads;
  config.precision = o.tagging.precision;
  config.classes = o.tagging.classes;
  config.decode = o.tagging.decode;
  config.max_side = o.tagging.max_side;
  config.bg_power = o.bg_power;
  config.crf = o.crf;
  config.crf_options.iterations = o.crf_iterations;
  config.crf_options.reference_image_quirk = !o.crf_plain_image;
  return config;
}

}  // namespace

void register_segment_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SegmentCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "segment",
      "Classify, then segment: a class activation map per image-level label (CLIP-ES: "
      "Grad-CAM refined by attention affinity) and a pixel pseudo-mask per image. Labels come "
      "from --labels (the split format 'id idx idx ...'), from --labels-from (an earlier "
      "`tagclip tag` output), or from tagging the given images first with TagCLIP. Writes one "
      "JSON object per image: {\"image\", \"width\", \"height\", \"keys\", \"labels\", and the "
      "files written}, or {\"image\", \"error\"} (the run goes on).\nExit status: 0 all "
      "segmented, 1 some images failed, 2 usage error, 3 model/tokenizer/vocabulary could not "
      "be loaded, 4 an output could not be written (disk full, ...).");
  cmd->add_option("inputs", o->inputs,
                  "Images to tag, then segment: files, folders (recursed, sorted), @FILE (one "
                  "path per line) or - (paths on standard input)");
  cmd->add_option("--labels", o->labels_file,
                  "Labels per image in the split format: 'id idx idx ...' per line (0-based "
                  "class indices, as `tag --labels-out` writes); images are IMAGE_ROOT/id + "
                  "--ext")
      ->group("Input");
  cmd->add_option("--labels-from", o->labels_from,
                  "Labels from the JSON Lines of `tagclip tag`: each record's tags (its best "
                  "class when none passed), images as named there")
      ->group("Input");
  cmd->add_option("--image-root", o->image_root, "Folder of the --labels images")->group("Input");
  cmd->add_option("--ext", o->extension, "Image extension for --labels ids")
      ->capture_default_str()
      ->group("Input");
  add_tagger_options(*cmd, o->tagging, /*batches=*/false);

  cmd->add_option("--bg-power", o->bg_power,
                  "Background score (1 - max over the maps)^P, as the authors' eval_cam.py; "
                  "not used for COCO-Stuff (no background)")
      ->capture_default_str()
      ->group("Segmentation");
  cmd->add_flag("--crf", o->crf,
                "Refine the masks with the authors' dense CRF (10 mean-field steps, Gaussian "
                "and bilateral kernels)")
      ->group("Segmentation");
  cmd->add_flag("--crf-plain-image", o->crf_plain_image,
                "Let the CRF see the image itself, not the authors' mean-subtracted uint8 "
                "wrap-around of it (their default quirk)")
      ->group("Segmentation");
  cmd->add_option("--crf-iterations", o->crf_iterations, "Mean-field steps of --crf")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000))
      ->group("Segmentation");

  cmd->add_option("--cams-out", o->run.cams_dir,
                  "Write DIR/<id>.npz per image (numpy.load, no pickle): keys int64 [K], "
                  "attn_highres and highres float16 [K, H, W] at the image's size")
      ->group("Output");
  cmd->add_option("--masks-out", o->run.masks_dir,
                  "Write DIR/<id>.png per image: 8-bit palette PNG, 0 background, k+1 for "
                  "class k, in the VOC colours")
      ->group("Output");
  cmd->add_option("--visualize", o->run.visualize_dir,
                  "Write DIR/<id>.png per image: the image, the mask over it and each label's "
                  "map as a heat map")
      ->group("Output");
  cmd->add_option("-o,--output", o->run.output, "JSON Lines output; - for standard output")
      ->capture_default_str()
      ->group("Output");
  cmd->add_flag("--resume", o->run.resume,
                "Skip images whose requested files all exist (and that --output records) and "
                "append the rest")
      ->group("Output");
  add_shard_options(*cmd, o->shard);

  cmd->callback([o, &exit_code] {
    SegmentRunOptions& run = o->run;
    if (run.cams_dir.empty() && run.masks_dir.empty() && run.visualize_dir.empty())
      throw UsageError("nothing to write: give --cams-out, --masks-out and/or --visualize");
    if (o->crf && run.masks_dir.empty() && run.visualize_dir.empty())
      throw UsageError("--crf refines the masks: give --masks-out or --visualize too");
    const std::optional<Shard> shard = resolve_shard(o->shard);
    std::vector<LabelledImage> images = gather_images(*o);
    if (images.empty()) throw UsageError("no images to segment");
    if (shard) {
      // Each shard writes its own JSON Lines; CAM, mask and picture files are per image
      // already, so the shards share those folders.
      run.output = shard_output_path(run.output, *shard);
      images = keep_shard(
          *shard, images, [](const LabelledImage& image) { return image.input.path; }, run.output);
    }
    const SegmenterConfig config = segmenter_config(*o);
    config.validate();

    bool need_tagging = false;
    for (const LabelledImage& image : images) need_tagging |= !image.labels.has_value();
    std::unique_ptr<Tagger> tagger;
    if (need_tagging) tagger = std::make_unique<Tagger>(Tagger::load(o->tagging));
    const Segmenter segmenter = Segmenter::load(config, tagger ? tagger->shared_model() : nullptr);

    run.quiet = spdlog::get_level() > spdlog::level::info;
    run.interactive = stderr_is_terminal();
    const SegmentRunSummary summary = run_segmentation(images, segmenter, tagger.get(), run);
    exit_code = summary.failed > 0 ? kExitSomeImagesFailed : kExitOk;
  });
}

}  // namespace tagclip::cli
