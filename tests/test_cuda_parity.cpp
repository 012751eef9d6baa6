// The CUDA path against the CPU: float32 on the GPU (TF32 off) must give the CPU's numbers
// within 1e-4 and the CPU's tags; float16 and bfloat16 must keep nearly every tag set. Every
// test here is named *Cuda* and skips where no CUDA device is present (scripts/run_tests.sh
// allows exactly those skips); on a GPU machine they run through scripts/setup_cuda.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "golden_arrays.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/model/device.h"
#include "tagclip/segmenter.h"
#include "tagclip/tagclip.h"
#include "test_support.h"

namespace tagclip {
namespace {

bool cuda_present() { return cuda_compiled_in() && at::hasCUDA(); }

#define SKIP_WITHOUT_CUDA() \
  if (!cuda_present()) GTEST_SKIP() << "no CUDA device (or a LibTorch without CUDA)"

double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.to(at::kCPU, at::kDouble), y = b.to(at::kCPU, at::kDouble);
  return ((x - y).abs().max() / y.abs().max()).item<double>();
}

std::vector<std::string> split_ids(const std::string& root, const std::string& split) {
  std::ifstream file(root + "/ImageSets/Main/" + split + ".txt");
  std::vector<std::string> ids;
  for (std::string id; file >> id;) ids.push_back(id);
  return ids;
}

TaggerConfig demo_config(const std::string& device, Precision precision) {
  TaggerConfig config;
  config.model_path = testing::committed_file("models/demo-clip.pt");
  config.classes = testing::committed_file("models/demo_classes.txt");
  config.bpe_path = testing::bpe_vocabulary_path();
  config.cache_dir = testing::make_scratch_dir("cuda-parity-cache");
  config.device = device;
  config.precision = precision;
  return config;
}

std::vector<int64_t> sorted_tags(const TagRecord& record) {
  std::vector<int64_t> tags = record.tag_indices();
  std::sort(tags.begin(), tags.end());
  return tags;
}

double largest_score_difference(const TagRecord& a, const TagRecord& b) {
  double largest = 0.0;
  for (size_t k = 0; k < a.scores.size(); ++k)
    largest = std::max(largest, std::abs(a.scores[k].second - b.scores[k].second));
  return largest;
}

// How far the GPU's records (b) stray from the CPU's (a), image by image.
struct Agreement {
  int images = 0, same = 0;  // images compared; of them, with the CPU's tag set
  double largest = 0.0;      // largest score difference over all images and classes

  void add(const TagRecord& a, const TagRecord& b) {
    ++images;
    same += sorted_tags(a) == sorted_tags(b);
    largest = std::max(largest, largest_score_difference(a, b));
  }

  // Prints the tally under `what` and expects every image to keep the CPU's tag set, every
  // score within the 1e-4 of the CPU's.
  void expect_like_the_cpu(const std::string& what) const {
    std::cout << what << ": " << same << "/" << images
              << " images with the CPU's tags; largest score difference " << largest << "\n";
    EXPECT_EQ(same, images);
    EXPECT_LT(largest, 1e-4);
  }
};

// The random fidelity checkpoint's encoder on one seeded image: output tokens and the
// attention maps DMAR reads, the GPU's against the CPU's.
TEST(CudaParity, Float32VisionTowerMatchesTheCpu) {
  SKIP_WITHOUT_CUDA();
  ModelOptions on_gpu;
  on_gpu.device = "cuda";
  const auto cpu = ClipModel::load(testing::fidelity_checkpoint_path());
  const auto gpu = ClipModel::load(testing::fidelity_checkpoint_path(), on_gpu);
  ASSERT_TRUE(gpu->device().is_cuda());
  const at::Tensor image = testing::synthetic_image(96, 128);
  VisionForwardOptions options;
  options.self_only_last_block = true;
  options.attention_blocks = {0, cpu->architecture().vision_layers - 2};
  const VisionOutput a = cpu->vision().forward(image, options);
  const VisionOutput b = gpu->vision().forward(image.to(gpu->device()), options);
  ASSERT_TRUE(b.tokens.device().is_cuda());
  ASSERT_EQ(a.tokens.sizes(), b.tokens.sizes());
  EXPECT_LT(relative_difference(b.tokens, a.tokens), 1e-5);
  ASSERT_EQ(a.attention.size(), b.attention.size());
  for (size_t i = 0; i < a.attention.size(); ++i)
    EXPECT_LT(relative_difference(b.attention[i], a.attention[i]), 1e-5) << "block " << i;
}

// The committed demo model on the 200 test images of the synthetic benchmark, the whole
// method (coarse scores, DMAR, CWR crops): the bound is 1e-4 on every score.
TEST(CudaParity, Float32TagsTheBenchmarkLikeTheCpu) {
  SKIP_WITHOUT_CUDA();
  const Tagger cpu = Tagger::load(demo_config("cpu", Precision::kFloat32));
  const Tagger gpu = Tagger::load(demo_config("cuda", Precision::kFloat32));
  const std::string root = testing::data_path("synthetic_voc");
  Agreement agreement;
  for (const std::string& id : split_ids(root, "test")) {
    const std::string path = root + "/JPEGImages/" + id + ".jpg";
    const TagRecord a = cpu.tag_file(path), b = gpu.tag_file(path);
    ASSERT_TRUE(a.tagged() && b.tagged()) << path << ": " << a.error << b.error;
    agreement.add(a, b);
  }
  agreement.expect_like_the_cpu("fp32 on CUDA");
  ASSERT_EQ(agreement.images, 200);
}

// The same 200 images in batches of 32 on the GPU (one forward pass per size, CWR's crops
// of a batch encoded together, what `tag --device cuda` does by default) against one image
// at a time on the CPU.
TEST(CudaParity, Float32BatchesTagTheBenchmarkLikeTheCpu) {
  SKIP_WITHOUT_CUDA();
  const Tagger cpu = Tagger::load(demo_config("cpu", Precision::kFloat32));
  const Tagger gpu = Tagger::load(demo_config("cuda", Precision::kFloat32));
  const std::string root = testing::data_path("synthetic_voc");
  const std::vector<std::string> ids = split_ids(root, "test");
  Agreement agreement;
  for (size_t first = 0; first < ids.size(); first += 32) {
    std::vector<PreparedImage> batch;
    for (size_t i = first; i < std::min(ids.size(), first + 32); ++i)
      batch.push_back(gpu.prepare_file(root + "/JPEGImages/" + ids[i] + ".jpg"));
    const std::vector<TaggedImage> tagged = gpu.tag_prepared_batch(batch);
    ASSERT_EQ(tagged.size(), batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const TagRecord a = cpu.tag_file(batch[i].image);
      const TagRecord& b = tagged[i].record;
      ASSERT_TRUE(a.tagged() && b.tagged()) << batch[i].image << ": " << a.error << b.error;
      ASSERT_EQ(b.image, a.image);
      agreement.add(a, b);
    }
  }
  agreement.expect_like_the_cpu("fp32 batches of 32 on CUDA");
  ASSERT_EQ(agreement.images, 200);
}

// float16 and bfloat16 products on the GPU against float32 on the CPU, same 200 images.
TEST(CudaParity, HalfPrecisionsKeepTheFloat32Tags) {
  SKIP_WITHOUT_CUDA();
  const Tagger exact = Tagger::load(demo_config("cpu", Precision::kFloat32));
  const std::string root = testing::data_path("synthetic_voc");
  const std::vector<std::string> ids = split_ids(root, "test");
  std::vector<TagRecord> reference;
  for (const std::string& id : ids) reference.push_back(exact.tag_file(root + "/JPEGImages/" + id + ".jpg"));
  for (Precision precision : {Precision::kFloat16, Precision::kBFloat16}) {
    const Tagger fast = Tagger::load(demo_config("cuda", precision));
    int same = 0;
    std::vector<double> largest_per_image;  // [images]
    for (size_t i = 0; i < ids.size(); ++i) {
      const TagRecord b = fast.tag_file(root + "/JPEGImages/" + ids[i] + ".jpg");
      ASSERT_TRUE(b.tagged()) << ids[i] << ": " << b.error;
      same += sorted_tags(reference[i]) == sorted_tags(b);
      largest_per_image.push_back(largest_score_difference(reference[i], b));
    }
    std::sort(largest_per_image.begin(), largest_per_image.end());
    const double median = largest_per_image[largest_per_image.size() / 2];
    std::cout << to_string(precision) << " on CUDA: " << same << "/" << ids.size()
              << " images with float32's tags; median of the largest score difference "
              << median << ", largest " << largest_per_image.back() << "\n";
    EXPECT_GE(same, 190) << to_string(precision);
    EXPECT_LT(median, 1e-2) << to_string(precision);
    EXPECT_GT(largest_per_image.back(), 0.0) << to_string(precision) << " gave float32's scores";
  }
}

// CLIP-ES on the GPU (Grad-CAM through autograd, the attention affinity) against the CPU.
TEST(CudaParity, Float32ClipEsMapsMatchTheCpu) {
  SKIP_WITHOUT_CUDA();
  auto config_for = [](const std::string& device) {
    SegmenterConfig config;
    config.model_path = testing::committed_file("models/demo-clip.pt");
    config.classes = testing::committed_file("models/demo_classes.txt");
    config.bpe_path = testing::bpe_vocabulary_path();
    config.device = device;
    return config;
  };
  const Segmenter cpu = Segmenter::load(config_for("cpu"));
  const Segmenter gpu = Segmenter::load(config_for("cuda"));
  const std::string root = testing::data_path("synthetic_voc");
  const std::vector<std::string> ids = split_ids(root, "regression");
  ASSERT_EQ(ids.size(), 48u);
  for (size_t i = 0; i < 8; ++i) {
    const std::string path = root + "/JPEGImages/" + ids[i] + ".jpg";
    const std::vector<int64_t> labels = {static_cast<int64_t>(i % 16), static_cast<int64_t>((i + 5) % 16)};
    const SegmentedImage a = cpu.segment_file(path, labels), b = gpu.segment_file(path, labels);
    ASSERT_TRUE(a.ok() && b.ok()) << path << ": " << a.error << b.error;
    ASSERT_EQ(a.cams.attn_highres.size(), b.cams.attn_highres.size());
    double largest = 0.0;
    for (size_t j = 0; j < a.cams.attn_highres.size(); ++j)
      largest = std::max(largest, double(std::abs(a.cams.attn_highres[j] - b.cams.attn_highres[j])));
    // The maps are float16 values in [0, 1]: one float16 step near 1 is 4.9e-4.
    EXPECT_LE(largest, 1e-3) << path;
    size_t same_pixels = 0;
    for (size_t j = 0; j < a.mask.labels.size(); ++j) same_pixels += a.mask.labels[j] == b.mask.labels[j];
    EXPECT_GE(double(same_pixels), 0.999 * double(a.mask.labels.size())) << path;
  }
}

}  // namespace
}  // namespace tagclip
