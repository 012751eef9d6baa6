#include "eval_seg_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "exit_codes.h"
#include "progress.h"
#include "tagclip/core/atomic_file.h"
#include "tagclip/core/vocabularies.h"
#include "tagclip/errors.h"
#include "tagclip/eval/segmentation_metrics.h"
#include "tagclip/segment/cam_to_mask.h"
#include "tagclip/segment/segmentation_scoring.h"

namespace tagclip::cli {
namespace {
namespace fs = std::filesystem;

struct EvalSegOptions {
  std::string predictions, gt_root, split_file, dataset;
  int num_classes = 0;
  std::string cam_key = "attn_highres";
  double bg_power = 1.0;
  std::optional<double> bg_constant;
  bool bg_sweep = false;
  bool with_crf = false, plain_image = false;
  std::string image_root, extension = ".jpg";
  bool allow_missing = false;
  int threads = 0;
  std::string report_json;
};

// eval_cam.py's powers for maps other than attn_highres (its thres_list for T >= 1).
constexpr int kSweepPowers[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
constexpr size_t kListedIds = 10;

// What is being scored, fixed before the first image.
struct Setup {
  std::vector<std::string> class_names;  // [n_class]
  SegmentationScoring scoring;
};

std::vector<std::string> read_split_ids(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("--split-file " + path + ": cannot open the file");
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos) continue;
    ids.push_back(line.substr(start, line.find_first_of(" \t\r", start) - start));
  }
  if (ids.empty()) throw UsageError("--split-file " + path + ": no image ids");
  return ids;
}

// Without a split file: every <id>.npz (else every <id>.png) of the predictions folder.
std::vector<std::string> ids_in_folder(const std::string& folder) {
  std::vector<std::string> npz, png;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string extension = entry.path().extension().string();
    if (extension == ".npz") npz.push_back(entry.path().stem().string());
    if (extension == ".png") png.push_back(entry.path().stem().string());
  }
  std::vector<std::string>& ids = npz.empty() ? png : npz;
  if (ids.empty()) throw UsageError("--predictions " + folder + ": no .npz or .png files");
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string listed(const std::vector<std::string>& items) {
  std::string text;
  for (size_t k = 0; k < items.size() && k < kListedIds; ++k) text += (k ? ", " : "") + items[k];
  if (items.size() > kListedIds)
    text += ", ... (" + std::to_string(items.size() - kListedIds) + " more)";
  return text;
}

Setup make_setup(const EvalSegOptions& o, const std::vector<std::string>& ids, bool power_given) {
  Setup setup;
  if (o.dataset.empty() == (o.num_classes == 0))
    throw UsageError("give --dataset voc|coco|cocostuff or --num-classes N (one of them)");
  if (o.dataset == "cocostuff") {
    setup.scoring.cocostuff = true;
    setup.class_names = cocostuff_coarse_names();
  } else if (!o.dataset.empty()) {
    setup.class_names = {"background"};
    for (const std::string& name : builtin_vocabulary(o.dataset).classes)
      setup.class_names.push_back(name);
  } else {
    for (int c = 0; c < o.num_classes; ++c)
      setup.class_names.push_back("class " + std::to_string(c));
  }
  // The kind of predictions: CAM files when the first id has one, else PNG masks.
  SegmentationScoring& scoring = setup.scoring;
  scoring.predictions_dir = o.predictions;
  scoring.gt_root = o.gt_root;
  scoring.cams = o.with_crf || fs::exists(fs::path(o.predictions) / (ids.front() + ".npz"));
  scoring.cam_kind = o.cam_key == "highres" ? CamKind::kHighres : CamKind::kAttnHighres;
  if (!scoring.cams && (o.bg_sweep || o.bg_constant || power_given))
    throw UsageError("--bg-power, --bg-constant and --bg-sweep apply to CAM files (.npz); " +
                     o.predictions + " holds masks (no " + ids.front() + ".npz)");
  if (o.bg_sweep + o.bg_constant.has_value() + power_given > 1)
    throw UsageError("give one of --bg-power, --bg-constant, --bg-sweep");
  if (scoring.cocostuff && (o.bg_sweep || o.bg_constant || power_given))
    throw UsageError("COCO-Stuff has no background row: --bg-* options do not apply");
  if (o.with_crf && (o.bg_sweep || o.bg_constant || o.bg_power != 1.0))
    throw UsageError("--with-crf uses the reference's background (1 - max)^1: drop --bg-*");
  if (o.with_crf && o.image_root.empty()) throw UsageError("--with-crf needs --image-root DIR");
  if (!(o.bg_power > 0) || !std::isfinite(o.bg_power))
    throw UsageError("--bg-power must be a positive number");
  scoring.backgrounds.clear();
  if (o.bg_sweep) {
    for (int t : kSweepPowers) scoring.backgrounds.push_back(BackgroundScore::power(t));
  } else {
    scoring.backgrounds.push_back(o.bg_constant ? BackgroundScore::constant(*o.bg_constant)
                                                : BackgroundScore::power(o.bg_power));
  }
  scoring.with_crf = o.with_crf;
  scoring.image_root = o.image_root;
  scoring.image_extension = o.extension;
  scoring.crf.reference_image_quirk = !o.plain_image;
  return setup;
}

// Scores every id on `threads` threads; the first error stops the run and is rethrown.
std::vector<ConfusionMatrix> score_all(const EvalSegOptions& o, const Setup& setup,
                                       const std::vector<std::string>& ids) {
  const int n_class = static_cast<int>(setup.class_names.size());
  std::vector<ConfusionMatrix> total(setup.scoring.backgrounds.size(), ConfusionMatrix(n_class));
  ProgressReporter progress(ids.size(), stderr_is_terminal(),
                            spdlog::get_level() > spdlog::level::info, "scored");
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::string first_error;
  auto work = [&] {
    std::vector<ConfusionMatrix> local(setup.scoring.backgrounds.size(), ConfusionMatrix(n_class));
    for (size_t k = next++; k < ids.size() && !failed; k = next++) {
      try {
        score_segmentation_image(setup.scoring, ids[k], local);
      } catch (const std::exception& e) {
        // A ShapeError (maps that do not fit a mask) does not know the file it came from.
        const bool shape = dynamic_cast<const ShapeError*>(&e) != nullptr;
        std::lock_guard<std::mutex> lock(mutex);
        if (!failed.exchange(true))
          first_error = (shape ? setup.scoring.prediction_path(ids[k]) + ": " : "") + e.what();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      progress.image_done(true);
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (size_t b = 0; b < total.size(); ++b) total[b] += local[b];
  };
  const int threads = std::max(1, std::min<int>(o.threads, static_cast<int>(ids.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (failed) throw Error(first_error);
  progress.finish(0);
  return total;
}

std::string percent(double fraction) {
  if (std::isnan(fraction)) return "     n/a";
  char text[16];
  std::snprintf(text, sizeof text, "%7.2f%%", 100.0 * fraction);
  return text;
}

std::string format_table(const Setup& setup, const SegmentationScores& s) {
  size_t width = 5;
  for (const std::string& name : setup.class_names) width = std::max(width, name.size());
  std::string table =
      std::string("class") + std::string(width - 5, ' ') + "       IoU   GT pixels\n";
  int present = 0;
  for (size_t c = 0; c < setup.class_names.size(); ++c) {
    if (s.ground_truth_pixels[c] == 0 && s.predicted_pixels[c] == 0) continue;
    present += s.ground_truth_pixels[c] > 0;
    char count[32];
    std::snprintf(count, sizeof count, "%12lld", static_cast<long long>(s.ground_truth_pixels[c]));
    table += setup.class_names[c] + std::string(width - setup.class_names[c].size(), ' ') + "  " +
             percent(s.class_iou[c]) + count +
             (s.ground_truth_pixels[c] == 0 ? "  (not in GT)" : "") + "\n";
  }
  table += "\nmIoU            " + percent(s.mean_iou) + "  (" + std::to_string(present) + " of " +
           std::to_string(setup.class_names.size()) + " classes in the ground truth)\n";
  table += "pixel accuracy  " + percent(s.pixel_accuracy) + "\n";
  table += "mean accuracy   " + percent(s.mean_accuracy) + "\n";
  table += "fwIoU           " + percent(s.fw_iou) + "\n";
  return table;
}

nlohmann::json number_or_null(double value) {
  return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value);
}

nlohmann::json background_json(const BackgroundScore& b) {
  return {{b.kind == BackgroundScore::Kind::kPower ? "power" : "constant", b.value}};
}

int run_eval_seg(const EvalSegOptions& o, bool power_given) {
  std::vector<std::string> ids =
      o.split_file.empty() ? ids_in_folder(o.predictions) : read_split_ids(o.split_file);
  const Setup setup = make_setup(o, ids, power_given);
  // Every file first: a missing one fails in a second, not after an hour of scoring.
  std::vector<std::string> missing, kept;
  for (const std::string& id : ids) {
    const std::string prediction = setup.scoring.prediction_path(id);
    const std::string truth = setup.scoring.ground_truth_path(id);
    if (!fs::exists(prediction))
      missing.push_back(prediction);
    else if (!fs::exists(truth))
      missing.push_back(truth);
    else
      kept.push_back(id);
  }
  if (!missing.empty()) {
    spdlog::error("{} of {} images lack a file: {}", missing.size(), ids.size(), listed(missing));
    if (!o.allow_missing || kept.empty()) {
      if (!o.allow_missing)
        spdlog::error("--allow-missing scores the {} complete images", kept.size());
      return kExitSomeImagesFailed;
    }
  }
  spdlog::info(
      "scoring {} images: {} from {} against {} ({} classes)", kept.size(),
      setup.scoring.cams ? std::string(cam_kind_name(setup.scoring.cam_kind)) + " CAMs" : "masks",
      o.predictions, o.gt_root, setup.class_names.size());

  std::vector<ConfusionMatrix> matrices;
  try {
    matrices = score_all(o, setup, kept);
  } catch (const Error& e) {
    std::cerr << "tagclip: " << e.what() << std::endl;
    return kExitSomeImagesFailed;
  }
  // eval_cam.py's sweep: the first power with the highest mIoU.
  size_t best = 0;
  nlohmann::ordered_json sweep = nlohmann::ordered_json::array();
  for (size_t b = 0; b < matrices.size(); ++b) {
    const double miou = segmentation_scores(matrices[b]).mean_iou;
    if (matrices.size() > 1) {
      std::cout << "bg power " << setup.scoring.backgrounds[b].value << ": mIoU " << percent(miou)
                << "\n";
      sweep.push_back(
          {{"power", setup.scoring.backgrounds[b].value}, {"mIoU", number_or_null(miou)}});
    }
    if (miou > segmentation_scores(matrices[best]).mean_iou) best = b;
  }
  if (matrices.size() > 1)
    std::cout << "best bg power: " << setup.scoring.backgrounds[best].value << "\n\n";
  const SegmentationScores scores = segmentation_scores(matrices[best]);
  std::cout << format_table(setup, scores) << std::flush;

  if (!o.report_json.empty()) {
    nlohmann::ordered_json json;
    json["mIoU"] = number_or_null(scores.mean_iou);
    json["pixel_accuracy"] = number_or_null(scores.pixel_accuracy);
    json["mean_accuracy"] = number_or_null(scores.mean_accuracy);
    json["fw_iou"] = number_or_null(scores.fw_iou);
    json["per_class"] = nlohmann::ordered_json::array();
    for (size_t c = 0; c < setup.class_names.size(); ++c)
      json["per_class"].push_back({{"name", setup.class_names[c]},
                                   {"iou", number_or_null(scores.class_iou[c])},
                                   {"gt_pixels", scores.ground_truth_pixels[c]},
                                   {"predicted_pixels", scores.predicted_pixels[c]}});
    json["num_classes"] = setup.class_names.size();
    json["images"] = kept.size();
    json["missing"] = missing.size();
    json["predictions"] = o.predictions;
    json["ground_truth"] = o.gt_root;
    json["kind"] = setup.scoring.cams ? "cams" : "masks";
    if (setup.scoring.cams) {
      json["cam_key"] = cam_kind_name(setup.scoring.cam_kind);
      if (!setup.scoring.cocostuff)
        json["background"] = background_json(setup.scoring.backgrounds[best]);
      json["crf"] = o.with_crf;
      if (o.with_crf) json["crf_reference_image_quirk"] = setup.scoring.crf.reference_image_quirk;
    }
    if (matrices.size() > 1) json["sweep"] = sweep;
    write_file_atomically(o.report_json, json.dump(2) + "\n");
  }
  return kExitOk;
}

}  // namespace

void register_eval_seg_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvalSegOptions>();
  o->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CLI::App* cmd = app.add_subcommand(
      "eval-seg",
      "Score segmentation pseudo-masks with the authors' eval_cam.py metrics (mIoU over the "
      "classes in the ground truth, pixel accuracy, mean accuracy, fwIoU, per-class IoU). "
      "--predictions holds <id>.png masks (0 background, class k as k + 1) or <id>.npz CAM "
      "files of `tagclip segment --cams-out`, scored as eval_cam.py does (background "
      "(1 - max)^power in float16, or through the dense CRF with --with-crf as "
      "eval_cam_with_crf.py --eval_only). COCO-Stuff is scored on its 27 coarse classes.\n"
      "Exit status: 0 scored, 1 a file missing or unreadable, 2 usage error, 4 the report "
      "could not be written.");
  cmd->add_option("--predictions", o->predictions, "Folder of <id>.png masks or <id>.npz CAMs")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--gt-root", o->gt_root,
                  "Folder of ground-truth <id>.png (class indices, 255 ignored; VOC's "
                  "SegmentationClass palette PNGs, COCO's gray ones)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--split-file", o->split_file,
                  "Ids to score, the first field of each line (default: every file of "
                  "--predictions)");
  cmd->add_option("--dataset", o->dataset,
                  "voc (21 classes), coco (81) or cocostuff (27 coarse, from 182-id ground "
                  "truth and 171-class predictions)")
      ->check(CLI::IsMember({"voc", "coco", "cocostuff"}));
  cmd->add_option("--num-classes", o->num_classes, "Classes of another dataset (1..255)")
      ->check(CLI::Range(1, 255));
  cmd->add_option("--cam-key", o->cam_key, "CAM files: which maps to score")
      ->capture_default_str()
      ->check(CLI::IsMember({"attn_highres", "highres"}));
  cmd->add_option("--bg-power", o->bg_power, "CAM files: background score (1 - max)^T")
      ->capture_default_str();
  cmd->add_option("--bg-constant", o->bg_constant,
                  "CAM files: a constant background score instead (eval_cam.py's T < 1)");
  cmd->add_flag("--bg-sweep", o->bg_sweep,
                "CAM files: try powers 1..10 (eval_cam.py's list) and report the best");
  cmd->add_flag("--with-crf", o->with_crf,
                "CAM files: score the dense CRF's masks (needs --image-root)");
  cmd->add_option("--image-root", o->image_root, "--with-crf: folder of the images (<id> + --ext)");
  cmd->add_option("--ext", o->extension, "--with-crf: image extension")->capture_default_str();
  cmd->add_flag("--crf-plain-image", o->plain_image,
                "--with-crf: give the CRF the plain image instead of the reference's wrapped "
                "mean-subtracted one");
  cmd->add_flag("--allow-missing", o->allow_missing,
                "Score the images that have both files instead of failing");
  cmd->add_option("--threads", o->threads, "Images scored in parallel (default: all cores)")
      ->check(CLI::Range(1, 1024));  // PositiveNumber's message prints DBL_MAX in full
  cmd->add_option("--report-json", o->report_json,
                  "Write mIoU, pixel_accuracy, mean_accuracy, fw_iou (fractions) and per_class");
  cmd->callback(
      [o, cmd, &exit_code] { exit_code = run_eval_seg(*o, cmd->count("--bg-power") > 0); });
}

}  // namespace tagclip::cli
