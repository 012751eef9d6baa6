// TagclipPipeline::run_batch against run(): a batch of same-size images through one forward
// pass, batched DMAR and CWR crops encoded across images must give each image what it gets
// alone. The images are the golden cases' (tests/data/golden/pipeline_reference.*), each
// with flipped copies so that a batch mixes images whose CWR candidates, crops and early
// stops differ.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "pipeline_golden_suite.h"
#include "tagclip/errors.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/pipeline/tagclip_pipeline.h"
#include "test_support.h"

namespace tagclip {
namespace {

using nlohmann::json;

constexpr double kBatchTolerance = 1e-5;

class PipelineBatch : public testing::PipelineGoldenSuite {
 protected:
  static TagclipPipeline pipeline_for(const json& c, TagclipOptions options) {
    if (c.at("dataset") == "cocostuff") {  // the reference's COCO-Stuff settings
      const TagclipOptions stuff = cocostuff_options(model_->architecture().vision_layers);
      options.refinement_blocks = stuff.refinement_blocks;
      options.candidate_ratio = stuff.candidate_ratio;
      options.label_ratio = stuff.label_ratio;
    }
    return TagclipPipeline(model_, golden_->array("text." + c.at("vocabulary").get<std::string>()),
                           c.at("foreground_classes").get<int64_t>(), options);
  }
  // [3, 3, H, W]: the case's image, mirrored, and upside down.
  static at::Tensor batch_of(const json& c) {
    const at::Tensor image = golden_->array("image." + c.at("image").get<std::string>());
    return at::cat({image, image.flip({3}), image.flip({2})}, 0);
  }

  // Compares each image of the batch with the same image run alone; adds up how many CWR
  // crops the batch encoded, and whether any image stopped early, for coverage checks.
  static void expect_batch_equals_single(const json& c, const TagclipOptions& options,
                                         int* crops = nullptr, bool* stopped = nullptr) {
    const TagclipPipeline pipeline = pipeline_for(c, options);
    const at::Tensor images = batch_of(c);
    const std::vector<TagResult> batched = pipeline.run_batch(images);
    ASSERT_EQ(batched.size(), 3u);
    for (int64_t b = 0; b < 3; ++b) {
      const TagResult alone = pipeline.run(images.slice(0, b, b + 1));
      const TagResult& together = batched[static_cast<size_t>(b)];
      const std::string where = c.at("name").get<std::string>() + " image " + std::to_string(b) +
                                " method " + to_string(options.method);
      ASSERT_EQ(together.scores.sizes(), alone.scores.sizes()) << where;
      EXPECT_LE((together.scores - alone.scores).abs().max().item<double>(), kBatchTolerance)
          << where;
      EXPECT_EQ(together.labels, alone.labels) << where;
      EXPECT_EQ(together.cwr_candidates, alone.cwr_candidates) << where;
      EXPECT_EQ(together.cwr_rescored, alone.cwr_rescored) << where;
      EXPECT_EQ(together.cwr_stopped_early, alone.cwr_stopped_early) << where;
      if (options.keep_patch_maps) {
        ASSERT_TRUE(together.patch_maps.defined()) << where;
        EXPECT_LE((together.patch_maps - alone.patch_maps).abs().max().item<double>(),
                  kBatchTolerance)
            << where;
      }
      if (crops) *crops += static_cast<int>(together.cwr_rescored.size());
      if (stopped) *stopped |= together.cwr_stopped_early;
    }
  }
};

TEST_F(PipelineBatch, TagclipEqualsEachImageAlone) {
  int crops = 0;
  bool stopped = false;
  for (const json& c : cases()) {
    TagclipOptions options;
    options.keep_patch_maps = true;
    expect_batch_equals_single(c, options, &crops, &stopped);
  }
  // The batches did encode crops of several images together, and mixed early stops in.
  EXPECT_GE(crops, 8);
  EXPECT_TRUE(stopped);
}

TEST_F(PipelineBatch, EveryMethodEqualsEachImageAlone) {
  for (TagclipMethod method :
       {TagclipMethod::kGlobal, TagclipMethod::kCoarse, TagclipMethod::kDmar}) {
    TagclipOptions options;
    options.method = method;
    options.keep_patch_maps = method != TagclipMethod::kGlobal;
    expect_batch_equals_single(cases().front(), options);
  }
}

TEST_F(PipelineBatch, SmallCropChunksAndNoEarlyStopEqualEachImageAlone) {
  // Chunks that split one image's crops across forwards, and every candidate encoded, on
  // the cases with the most candidates and the one the reference stops early on (the
  // sanitizer build runs this too, so not every case).
  TagclipOptions options;
  options.cwr_max_batch = 1;
  options.cwr_early_stop = false;
  int compared = 0;
  for (const json& c : cases()) {
    if (c.at("cwr_candidates").size() < 3) continue;
    expect_batch_equals_single(c, options);
    ++compared;
  }
  EXPECT_GE(compared, 3);
}

TEST_F(PipelineBatch, RejectsImagesThatAreNotABatchOfOneSize) {
  const TagclipPipeline pipeline = pipeline_for(cases().front(), TagclipOptions{});
  EXPECT_THROW(pipeline.run_batch(at::zeros({0, 3, 32, 32})), ShapeError);
  EXPECT_THROW(pipeline.run_batch(at::zeros({2, 3, 32, 33})), ShapeError);
  EXPECT_THROW(pipeline.run(at::zeros({2, 3, 32, 32})), ShapeError);
}

}  // namespace
}  // namespace tagclip
