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

}  // namespace

nlohmann::ordered_json tag_run_setup(const Tagger& tagger) {
  const TaggerConfig& config = tagger.config();
  nlohmann::ordered_json setup = {
      {"tagclip_setup", 1},
      {"weights", tagger.model().weights_fingerprint()},
      {"architecture", tagger.model().architecture().to_json()},
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

std::string setup_path_for(const std::string& output) { return output + ".setup.json"; }

void check_and_record_setup(const std::string& output, const nlohmann::ordered_json& setup,
                            bool resume, const std::vector<std::string>& recorded_classes) {
  std::error_code ec;
  // Standard output, /dev/null and pipes keep no records to resume.
  if (output.empty() || output == "-" || !std::filesystem::is_regular_file(output, ec)) return;
  const std::string path = setup_path_for(output);
  if (resume && std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const auto recorded = nlohmann::ordered_json::parse(text.str(), nullptr, false);
    if (!recorded.is_object())
      throw UsageError(path + ": not the JSON setup tagclip records beside " + output +
                       "; delete it to resume without the check");
    std::vector<std::string> differing;
    for (const auto& [key, value] : setup.items())
      if (!recorded.contains(key) || recorded[key] != value) differing.push_back(key);
    if (!differing.empty())
      throw UsageError(output + " was written with another setup (" + join(differing) +
                       " differ; see " + path +
                       "). Resume with the model, vocabulary and options it was made with, "
                       "or write to a new file.");
    return;
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
