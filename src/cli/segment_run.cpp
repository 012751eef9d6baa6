#include "segment_run.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "progress.h"
#include "run_setup.h"
#include "tagclip/core/tag_record.h"
#include "tagclip/errors.h"
#include "tagclip/io/jsonl_output.h"
#include "tagclip/io/visualize.h"
#include "tagclip/segment/cam_file.h"
#include "tagclip/segment/label_mask.h"

namespace tagclip::cli {
namespace {
namespace fs = std::filesystem;

struct OutputPaths {
  std::string cams, mask, picture;  // empty: not requested

  bool all_exist() const {
    std::error_code ec;
    for (const std::string* path : {&cams, &mask, &picture})
      if (!path->empty() && !fs::exists(*path, ec)) return false;
    return true;
  }
};

OutputPaths output_paths(const SegmentRunOptions& o, const std::string& id) {
  auto in = [&](const std::string& dir, const char* extension) {
    return dir.empty() ? std::string() : (fs::path(dir) / (id + extension)).string();
  };
  return {in(o.cams_dir, ".npz"), in(o.masks_dir, ".png"), in(o.visualize_dir, ".png")};
}

void create_folder(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UsageError(dir + ": cannot create folder: " + ec.message());
}

// Writes the requested files of a segmented image; each is whole or absent.
void write_outputs(const SegmentedImage& result, const OutputPaths& paths,
                   const std::vector<std::string>& class_names) {
  if (!paths.cams.empty()) write_cam_file(paths.cams, result.cams);
  if (!paths.mask.empty()) write_label_mask_png(paths.mask, result.mask);
  if (!paths.picture.empty()) {
    const cv::Mat sheet = render_segmentation_visualization(
        result.rgb, result.mask, result.cams.keys, result.cams.attn_highres, class_names);
    write_picture_png(paths.picture, sheet);
  }
}

nlohmann::ordered_json segment_record(const SegmentedImage& result, const OutputPaths& paths,
                                      const std::vector<std::string>& class_names,
                                      const TagRecord* tags) {
  nlohmann::ordered_json record = image_fields(result.image);
  if (!result.ok()) {
    record["error"] = result.error;
    return record;
  }
  record["width"] = result.width;
  record["height"] = result.height;
  record["keys"] = result.cams.keys;
  nlohmann::ordered_json labels = nlohmann::ordered_json::array();
  for (int64_t key : result.cams.keys) labels.push_back(class_names.at(key));
  record["labels"] = labels;
  if (tags != nullptr) record["tags"] = to_json(*tags)["tags"];
  if (!paths.cams.empty()) record["cams"] = paths.cams;
  if (!paths.mask.empty()) record["mask"] = paths.mask;
  if (!paths.picture.empty()) record["visualization"] = paths.picture;
  return record;
}

}  // namespace

SegmentRunSummary run_segmentation(const std::vector<LabelledImage>& images,
                                   const Segmenter& segmenter, const Tagger* tagger,
                                   const SegmentRunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  SegmentRunSummary summary;
  ResumeState resume;
  const bool output_is_file = !options.output.empty() && options.output != "-";
  if (options.resume && !output_is_file && options.cams_dir.empty() && options.masks_dir.empty())
    throw UsageError("--resume needs files to resume from: -o FILE, --cams-out or --masks-out");
  // The writer locks the file first, so no other run changes it while it is read.
  JsonlWriter writer(options.output, options.resume);
  if (options.resume) {
    resume = prepare_resume(options.output);
    if (resume.dropped_partial_line)
      spdlog::warn("{}: cut off line {} and after ({}), left by an interrupted run", options.output,
                   resume.dropped_line_number, resume.dropped_line_reason);
  }
  check_and_record_setup(options.output, segment_run_setup(segmenter, tagger), options.resume,
                         /*recorded_classes=*/{});
  for (const std::string& dir : {options.cams_dir, options.masks_dir, options.visualize_dir})
    create_folder(dir);

  auto finished = [&](const LabelledImage& image) {
    if (!options.resume) return false;
    const bool recorded = !output_is_file || resume.recorded_images.count(image.input.path) > 0;
    return recorded && output_paths(options, image.input.id).all_exist();
  };
  size_t to_do = 0;
  for (const LabelledImage& image : images) to_do += finished(image) ? 0 : 1;
  if (options.resume) spdlog::info("resuming: {} images already done", images.size() - to_do);
  ProgressReporter progress(to_do, options.interactive, options.quiet, "segmented");

  for (const LabelledImage& image : images) {
    if (finished(image)) {
      ++summary.skipped;
      continue;
    }
    const OutputPaths paths = output_paths(options, image.input.id);
    SegmentedImage result;
    TaggedImage tagged;
    const bool tag_first = !image.labels.has_value();
    if (!image.input.problem.empty()) {
      result.image = image.input.path;
      result.error = image.input.problem;
    } else if (tag_first && tagger == nullptr) {
      throw UsageError(image.input.path + ": no labels given and nothing to tag it with");
    } else if (tag_first) {
      tagged = tagger->tag_file_in_detail(image.input.path);
      if (!tagged.record.tagged()) {
        result.image = image.input.path;
        result.error = tagged.record.error;
      } else {
        result = segmenter.segment_decoded_file(tagged.rgb, tagged.record.split_labels(),
                                                image.input.path);
      }
    } else {
      result = segmenter.segment_file(image.input.path, *image.labels);
    }
    if (result.ok()) {
      try {
        write_outputs(result, paths, segmenter.class_names());
      } catch (const Error& e) {
        result.error = e.what();
      }
    }
    if (result.ok()) {
      ++summary.segmented;
    } else {
      if (!options.quiet) spdlog::error("{}: {}", image.input.path, result.error);
      ++summary.failed;
    }
    writer.write(segment_record(result, paths, segmenter.class_names(),
                                tag_first && tagged.record.tagged() ? &tagged.record : nullptr));
    progress.image_done(result.ok());
  }
  progress.finish(summary.skipped);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace tagclip::cli
