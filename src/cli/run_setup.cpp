#include "run_setup.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"

namespace tagclip::cli {
namespace {

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : ", ") + word;
  return text;
}

// The architecture as setups recorded it before the activation was a field: the activation
// (and head width) now count through the weights' fingerprint (ClipModel), and an output
// written by the earlier version keeps resuming.
nlohmann::json architecture_without_activations(const ClipArchitecture& arch) {
  nlohmann::json json = arch.to_json();
  json["vision"].erase("activation");
  json["text"].erase("activation");
  return json;
}

}  // namespace

nlohmann::ordered_json tag_run_setup(const Tagger& tagger) {
  const TaggerConfig& config = tagger.config();
  nlohmann::ordered_json setup = {
      {"tagclip_setup", 1},
      {"weights", tagger.model().weights_fingerprint()},
      {"architecture", architecture_without_activations(tagger.model().architecture())},
      {"vocabulary", tagger.vocabulary().name},
      {"classes", tagger.vocabulary().classes},
      {"background", tagger.vocabulary().background},
      {"templates", config.templates},
      {"truncate_prompts", config.truncate_prompts},
      {"precision", to_string(config.precision)},
      {"options", tagger.options().to_string()},
      {"max_side", config.max_side ? nlohmann::ordered_json(*config.max_side) : nullptr},
      {"apply_exif", config.decode.apply_exif_orientation},
      {"top_k", config.top_k ? nlohmann::ordered_json(*config.top_k) : nullptr},
      {"min_score",
       std::isfinite(config.min_score) ? nlohmann::ordered_json(config.min_score) : nullptr}};
  return setup;
}

nlohmann::ordered_json segment_run_setup(const Segmenter& segmenter, const Tagger* tagger) {
  const SegmenterConfig& config = segmenter.config();
  const DenseCrfOptions& crf = config.crf_options;
  return {{"tagclip_setup", 1},
          {"command", "segment"},
          {"weights", segmenter.model().weights_fingerprint()},
          {"architecture", architecture_without_activations(segmenter.model().architecture())},
          {"vocabulary", config.classes},
          {"classes", segmenter.class_names()},
          {"precision", to_string(config.precision)},
          {"max_side", config.max_side ? nlohmann::ordered_json(*config.max_side) : nullptr},
          {"apply_exif", config.decode.apply_exif_orientation},
          {"bg_power", config.bg_power},
          {"crf", config.crf},
          {"crf_options",
           {{"iterations", crf.iterations},
            {"gaussian_sxy", crf.gaussian_sxy},
            {"gaussian_weight", crf.gaussian_weight},
            {"bilateral_sxy", crf.bilateral_sxy},
            {"bilateral_srgb", crf.bilateral_srgb},
            {"bilateral_weight", crf.bilateral_weight},
            {"reference_image_quirk", crf.reference_image_quirk}}},
          {"tagging", tagger ? tag_run_setup(*tagger) : nlohmann::ordered_json(nullptr)}};
}

std::string setup_path_for(const std::string& output) { return output + ".setup.json"; }

namespace {

// The recorded setup beside `output`, or null when there is none.
nlohmann::ordered_json read_setup(const std::string& output) {
  const std::string path = setup_path_for(output);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return nullptr;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto recorded = nlohmann::ordered_json::parse(text.str(), nullptr, false);
  if (!recorded.is_object())
    throw UsageError(path + ": not the JSON setup tagclip records beside " + output +
                     "; delete it to go on without the check");
  return recorded;
}

std::vector<std::string> differing_fields(const nlohmann::ordered_json& a,
                                          const nlohmann::ordered_json& b) {
  std::vector<std::string> differing;
  for (const auto& [key, value] : a.items())
    if (!b.contains(key) || b[key] != value) differing.push_back(key);
  for (const auto& [key, value] : b.items())
    if (!a.contains(key)) differing.push_back(key);
  return differing;
}

}  // namespace

nlohmann::ordered_json agreed_shard_setup(const std::vector<std::string>& shard_files) {
  nlohmann::ordered_json agreed;
  std::string agreed_file;
  for (const std::string& file : shard_files) {
    const nlohmann::ordered_json setup = read_setup(file);
    if (setup.is_null()) continue;
    if (agreed.is_null()) {
      agreed = setup;
      agreed_file = file;
      continue;
    }
    const std::vector<std::string> differing = differing_fields(agreed, setup);
    if (!differing.empty())
      throw UsageError(agreed_file + " and " + file + " were written with different setups (" +
                       join(differing) + " differ; see their .setup.json files): nothing merged. " +
                       "Run every shard with the same model, vocabulary and options.");
  }
  return agreed;
}

void check_and_record_setup(const std::string& output, const nlohmann::ordered_json& setup,
                            bool resume, const std::vector<std::string>& recorded_classes) {
  std::error_code ec;
  // Standard output, /dev/null and pipes keep no records to resume.
  if (output.empty() || output == "-" || !std::filesystem::is_regular_file(output, ec)) return;
  const std::string path = setup_path_for(output);
  if (resume) {
    const nlohmann::ordered_json recorded = read_setup(output);
    if (!recorded.is_null()) {
      const std::vector<std::string> differing = differing_fields(setup, recorded);
      if (!differing.empty())
        throw UsageError(output + " was written with another setup (" + join(differing) +
                         " differ; see " + path +
                         "). Resume with the model, vocabulary and options it was made with, "
                         "or write to a new file.");
      return;
    }
  }
  if (resume && !recorded_classes.empty() &&
      recorded_classes != setup["classes"].get<std::vector<std::string>>())
    throw UsageError(output + " holds records of other classes (" +
                     std::to_string(recorded_classes.size()) + ", the first '" +
                     recorded_classes.front() +
                     "'). Resume with the vocabulary it was made with, or write to a new file.");
  write_file_atomically(path, setup.dump(2) + "\n");
}

}  // namespace tagclip::cli
