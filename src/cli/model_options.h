// Options shared by the commands that load a model and a vocabulary (tag, and later eval),
// and the loading itself, so each command registers and reads them the same way.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "tagclip/core/vocabulary.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/pipeline/tagclip_pipeline.h"

namespace tagclip::cli {

struct ModelSetup {
  std::string model_path;
  std::string bpe_path;
  std::string classes = "voc";
  std::string background = "default";
  std::string templates = "reference";
  std::string device = "cpu";
  std::optional<int> threads;  // nullopt: every core
  std::string cache_dir;
  bool no_cache = false;
  bool truncate_prompts = false;

  std::string method = "tagclip";
  // Each nullopt: the vocabulary's and model's default (TagclipOptions).
  std::vector<int64_t> refine_blocks;
  std::optional<int64_t> vote_count;
  std::optional<double> threshold;
  std::optional<double> candidate_ratio;
  bool no_self_only_mask = false;
  bool no_fp16_positional_rounding = false;
  bool no_box_end_clipping = false;
  bool no_cwr_early_stop = false;
  bool sequential_cwr = false;
  bool keep_patch_maps = false;  // set by commands that draw them (tag --visualize)
};

// Registers the options on `command`.
void add_model_options(CLI::App& command, ModelSetup& setup);

struct LoadedSetup {
  std::shared_ptr<const ClipModel> model;
  Vocabulary vocabulary;
  std::unique_ptr<TagclipPipeline> pipeline;
};

// Sets threads, loads model, tokenizer, vocabulary and text embeddings (cached), and builds
// the pipeline. Errors are tagclip::Error (exit 3) or UsageError (exit 2).
LoadedSetup load_setup(const ModelSetup& setup);

}  // namespace tagclip::cli
