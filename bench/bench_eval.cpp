// Times `tagclip eval`'s work at COCO2014 size: streaming an instances file (40,504 images,
// ~290,000 annotations with polygons, as instances_val2014.json), reading 40,137 `tagclip
// tag` records of 80 scores, matching them, and every metric. The data is synthetic and
// written first (not timed). Prints one line per stage and the total.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "tagclip/core/vocabularies.h"
#include "tagclip/eval/coco_ground_truth.h"
#include "tagclip/eval/eval_predictions.h"
#include "tagclip/eval/eval_report.h"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// COCO's category ids: 1..90 without the ten it never used.
std::vector<int> coco_category_ids() {
  const int unused[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};
  std::vector<int> ids;
  for (int id = 1; ids.size() < 80; ++id)
    if (std::find(std::begin(unused), std::end(unused), id) == std::end(unused)) ids.push_back(id);
  return ids;
}

std::string file_name(int image) {
  char name[64];
  std::snprintf(name, sizeof name, "COCO_val2014_%012d.jpg", image);
  return name;
}

// Writes the instances file straight to disk, as COCO lays it out (annotations with a
// 24-point polygon, bbox and area each); images >= `annotated` get no annotation.
void write_instances(const std::string& path, int images, int annotated, std::mt19937& rng) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) throw std::runtime_error(path + ": cannot write");
  std::uniform_real_distribution<float> coordinate(0.0f, 640.0f);
  std::poisson_distribution<int> objects(6.2);
  const std::vector<int> categories = coco_category_ids();
  const std::vector<std::string>& names = tagclip::builtin_vocabulary("coco").classes;
  std::fprintf(out, "{\"info\": {\"description\": \"synthetic\", \"year\": 2014}, \"images\": [");
  for (int i = 0; i < images; ++i)
    std::fprintf(out,
                 "%s{\"license\": 3, \"file_name\": \"%s\", \"height\": 480, \"width\": 640, "
                 "\"date_captured\": \"2013-11-14 11:18:45\", \"id\": %d}",
                 i ? ", " : "", file_name(i).c_str(), i);
  std::fprintf(out, "], \"licenses\": [{\"id\": 3, \"name\": \"x\"}], \"annotations\": [");
  long annotation_id = 1;
  for (int i = 0; i < annotated; ++i) {
    const int count = std::max(1, objects(rng));
    for (int k = 0; k < count; ++k) {
      std::fprintf(out, "%s{\"segmentation\": [[", annotation_id > 1 ? ", " : "");
      for (int p = 0; p < 24; ++p) std::fprintf(out, "%s%.2f", p ? "," : "", coordinate(rng));
      std::fprintf(out,
                   "]], \"area\": 1035.749, \"iscrowd\": 0, \"image_id\": %d, \"bbox\": [%.2f, "
                   "%.2f, 20.5, 30.25], \"category_id\": %d, \"id\": %ld}",
                   i, coordinate(rng), coordinate(rng), categories[rng() % 80], annotation_id);
      ++annotation_id;
    }
  }
  std::fprintf(out, "], \"categories\": [");
  for (size_t k = 0; k < 80; ++k)
    std::fprintf(out, "%s{\"supercategory\": \"x\", \"id\": %d, \"name\": \"%s\"}", k ? ", " : "",
                 categories[k], names[k].c_str());
  std::fprintf(out, "]}\n");
  std::fclose(out);
}

// `tagclip tag` records: tags and all 80 scores (softmax-like, written as doubles).
void write_predictions(const std::string& path, int images, std::mt19937& rng) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) throw std::runtime_error(path + ": cannot write");
  const std::vector<std::string>& names = tagclip::builtin_vocabulary("coco").classes;
  std::exponential_distribution<float> score(8.0f);
  for (int i = 0; i < images; ++i) {
    std::fprintf(out, "{\"image\":\"val2014/%s\",\"width\":640,\"height\":480,\"tags\":[",
                 file_name(i).c_str());
    std::fprintf(out, "{\"label\":\"%s\",\"index\":%d,\"score\":0.5}],\"scores\":{",
                 names[i % 80].c_str(), i % 80);
    for (size_t k = 0; k < names.size(); ++k)
      std::fprintf(out, "%s\"%s\":%.17g", k ? "," : "", names[k].c_str(),
                   static_cast<double>(score(rng)));
    std::fprintf(out, "}}\n");
  }
  std::fclose(out);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tagclip eval at COCO2014 size, on synthetic data"};
  int images = 40504, annotated = 40137;
  std::string dir = (fs::temp_directory_path() / "tagclip-bench-eval").string();
  app.add_option("--images", images, "images in the instances file")->capture_default_str();
  app.add_option("--annotated", annotated, "of which annotated (and predicted)")
      ->capture_default_str();
  app.add_option("--dir", dir, "where the synthetic files are written")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  fs::create_directories(dir);
  const std::string instances = dir + "/instances.json", predictions = dir + "/tags.jsonl";
  std::mt19937 rng(0);
  write_instances(instances, images, annotated, rng);
  write_predictions(predictions, annotated, rng);
  std::printf("synthetic data: instances %.1f MB, predictions %.1f MB\n",
              fs::file_size(instances) / 1e6, fs::file_size(predictions) / 1e6);

  const auto start = Clock::now();
  auto stage = Clock::now();
  const tagclip::GroundTruth truth =
      tagclip::read_coco_ground_truth({instances, "", false}, tagclip::Dataset::kCoco2014);
  std::printf("read instances (SAX):   %6.2f s  %zu images\n", seconds_since(stage),
              truth.images.size());
  stage = Clock::now();
  const tagclip::Predictions read = tagclip::read_predictions(predictions);
  std::printf("read predictions:       %6.2f s  %zu records\n", seconds_since(stage),
              read.ids.size());
  stage = Clock::now();
  const tagclip::MatchedPredictions matched = tagclip::match_predictions(truth, read);
  std::printf("match:                  %6.2f s  %zu images\n", seconds_since(stage),
              matched.image_ids.size());
  stage = Clock::now();
  tagclip::EvalOptions options;
  options.top_k = {1, 3};
  const tagclip::EvalReport report = tagclip::evaluate(matched.data, truth.classes, options);
  std::printf("metrics (AP, F1 x3, top-k): %6.2f s  mAP %.4f\n", seconds_since(stage),
              report.mean_ap);
  std::printf("total:                  %6.2f s\n", seconds_since(start));
  fs::remove(instances);
  fs::remove(predictions);
  return 0;
}
