// The setup a tag run's records depend on (weights, vocabulary, templates, method options,
// image handling), kept beside the output as <output>.setup.json, so that --resume refuses
// to append records made another way to a file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tagclip/segmenter.h"
#include "tagclip/tagclip.h"

namespace tagclip::cli {

// {"tagclip_setup": 1, "weights": fingerprint, "architecture", "vocabulary", "classes",
// "background", "templates", "truncate_prompts", "precision", "options", "max_side",
// "apply_exif", "top_k", "min_score"}. The model's path is left out: the same checkpoint
// moved elsewhere resumes fine.
nlohmann::ordered_json tag_run_setup(const Tagger& tagger);

// The same for a segment run: {"tagclip_setup": 1, "command": "segment", "weights",
// "architecture", "vocabulary", "classes", "precision", "max_side", "apply_exif",
// "bg_power", "crf", "crf_options", "tagging" (tag_run_setup of the tagger labelling the
// images without labels, or null)}.
nlohmann::ordered_json segment_run_setup(const Segmenter& segmenter, const Tagger* tagger);

// "<output>.setup.json".
std::string setup_path_for(const std::string& output);

// A fresh run records `setup` beside `output`. A resumed run compares it with the recorded
// one and throws UsageError naming every field that differs; an output from before setups
// were recorded is checked by the classes of its first tagged record (`recorded_classes`,
// empty: none) and then gets the setup. Nothing is done unless `output` is a regular file
// (standard output, /dev/null and pipes keep nothing to resume).
void check_and_record_setup(const std::string& output, const nlohmann::ordered_json& setup,
                            bool resume, const std::vector<std::string>& recorded_classes);

// The setup shared by the shard files of one run (each "<shard>.setup.json"), to be kept
// beside their merge. Throws UsageError naming two shards and the fields in which they
// differ (records made with another model, vocabulary or option must not be joined), or a
// setup file that is not JSON. Returns null when no shard has a setup (segment and eval
// outputs, tag outputs from before setups were recorded).
nlohmann::ordered_json agreed_shard_setup(const std::vector<std::string>& shard_files);

}  // namespace tagclip::cli
