#include "tagclip/io/tag_run.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>

#include "tagclip/errors.h"
#include "tagclip/io/jsonl_output.h"
#include "tagclip/io/progress.h"
#include "tagclip/io/visualize.h"
#include "tagclip/pipeline/labels.h"
#include "tagclip/pipeline/preprocess.h"

namespace tagclip {
namespace {

// One line of the reference's split format; the arg max when no tag survived.
std::string labels_line(const std::string& id, const std::vector<int64_t>& labels,
                        int64_t fallback) {
  std::string line = id;
  for (int64_t index : labels) line += " " + std::to_string(index);
  if (labels.empty()) line += " " + std::to_string(fallback);
  return line + "\n";
}

}  // namespace

std::vector<Tag> reported_tags(const TagResult& result, const TagRunOptions& options) {
  std::vector<Tag> tags;
  for (const Tag& tag : sorted_tags(result.scores.to(at::kCPU).to(at::kFloat), result.labels)) {
    if (options.top_k && static_cast<int>(tags.size()) >= *options.top_k) break;
    if (tag.score < options.min_score) continue;
    tags.push_back(tag);
  }
  return tags;
}

nlohmann::ordered_json tag_record(const std::string& image, int width, int height,
                                  const TagResult& result, const Vocabulary& vocabulary,
                                  const TagRunOptions& options) {
  const at::Tensor scores = result.scores.to(at::kCPU).to(at::kFloat).contiguous();
  const float* values = scores.data_ptr<float>();
  nlohmann::ordered_json tags = nlohmann::ordered_json::array();
  for (const Tag& tag : reported_tags(result, options))
    tags.push_back({{"label", vocabulary.classes[tag.index]},
                    {"index", tag.index},
                    {"score", static_cast<double>(tag.score)}});
  nlohmann::ordered_json all_scores = nlohmann::ordered_json::object();
  for (size_t k = 0; k < vocabulary.classes.size(); ++k)
    all_scores[vocabulary.classes[k]] = static_cast<double>(values[k]);
  return {{"image", image},
          {"width", width},
          {"height", height},
          {"tags", tags},
          {"scores", all_scores}};
}

TagRunSummary run_tagging(const ImageInputs& inputs, const TagclipPipeline& pipeline,
                          const Vocabulary& vocabulary, const TagRunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  TagRunSummary summary;
  ResumeState resume;
  if (options.resume) {
    if (options.output.empty() || options.output == "-")
      throw UsageError("--resume needs an output file (-o FILE), not standard output");
    resume = prepare_resume(options.output);
    if (resume.dropped_partial_line)
      spdlog::warn("{}: cut off an unfinished last record left by an interrupted run",
                   options.output);
    spdlog::info("resuming: {} images already in {}", resume.complete_records, options.output);
  }
  JsonlWriter writer(options.output, options.resume);
  if (!options.visualize_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.visualize_dir, ec);
    if (ec) throw UsageError(options.visualize_dir + ": cannot create folder: " + ec.message());
  }

  size_t to_do = 0;
  for (const ImageInput& input : inputs.images)
    to_do += resume.recorded_images.count(input.path) ? 0 : 1;
  ProgressReporter progress(to_do, options.interactive, options.quiet);
  const int patch_size = static_cast<int>(pipeline.model().architecture().patch_size);

  // Labels per image path for --labels-out, from this run and from a resumed output.
  std::map<std::string, std::vector<int64_t>> labels_by_path = resume.recorded_labels;
  std::map<std::string, int64_t> fallback_by_path = resume.recorded_arg_max;

  for (const ImageInput& input : inputs.images) {
    if (resume.recorded_images.count(input.path)) {
      ++summary.skipped;
      continue;
    }
    nlohmann::ordered_json record;
    try {
      if (!input.problem.empty()) throw ImageError(input.path, input.problem);
      const cv::Mat rgb = decode_image(input.path, options.decode);
      const at::Tensor image = preprocess_for_clip(rgb, patch_size, options.max_side);
      const TagResult result = pipeline.run(image);
      record = tag_record(input.path, rgb.cols, rgb.rows, result, vocabulary, options);
      std::vector<int64_t>& labels = labels_by_path[input.path];
      labels.clear();
      for (const auto& tag : record["tags"]) labels.push_back(tag["index"].get<int64_t>());
      fallback_by_path[input.path] = result.scores.argmax().item<int64_t>();
      if (!options.visualize_dir.empty()) {
        const std::string png = options.visualize_dir + "/" + input.id + ".png";
        const cv::Mat sheet = render_tag_visualization(rgb, result, reported_tags(result, options),
                                                       vocabulary.classes);
        if (!cv::imwrite(png, sheet)) spdlog::warn("{}: could not write the visualisation", png);
      }
      ++summary.tagged;
    } catch (const std::exception& e) {
      const std::string why = image_problem(e);
      record = {{"image", input.path}, {"error", why}};
      if (!options.quiet) spdlog::error("{}: {}", input.path, why);
      ++summary.failed;
    }
    writer.write(record);
    progress.image_done(!record.contains("error"));
  }

  if (!options.labels_out.empty()) {
    std::ofstream out(options.labels_out, std::ios::trunc);
    if (!out) throw UsageError(options.labels_out + ": cannot open for writing");
    for (const ImageInput& input : inputs.images) {
      const auto it = labels_by_path.find(input.path);
      if (it == labels_by_path.end()) continue;  // failed images have no labels
      const auto fallback = fallback_by_path.find(input.path);
      const int64_t arg_max = fallback == fallback_by_path.end() ? 0 : fallback->second;
      out << labels_line(input.id, it->second, arg_max);
    }
  }
  progress.finish(summary.skipped);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace tagclip
