// The whole pipeline against the authors' classify.py: tests/data/golden/pipeline_reference.*
// comes from scripts/golden/make_pipeline_golden.py, which runs the reference (fp32, CPU) on
// the checkpoint `tagclip random-checkpoint --seed 0` writes (= fidelity_spec() here) and
// stores the preprocessed images and text features it used, its final scores and labels.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "pipeline_golden_suite.h"
#include "tagclip/errors.h"
#include "tagclip/io/image_io.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/pipeline/coarse_classification.h"
#include "tagclip/pipeline/dmar.h"
#include "tagclip/pipeline/preprocess.h"
#include "tagclip/pipeline/tagclip_pipeline.h"
#include "test_support.h"

namespace tagclip {
namespace {

using nlohmann::json;

constexpr double kScoreTolerance = 1e-4;    // final and local scores
constexpr double kCoarseTolerance = 1e-5;   // probabilities straight from the tokens
constexpr double kBatchedTolerance = 1e-5;  // batched CWR against one crop at a time

std::vector<int64_t> as_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

class PipelineGolden : public testing::PipelineGoldenSuite {
 protected:
  static const json& find_case(const std::string& name) {
    for (const json& c : cases())
      if (c.at("name") == name) return c;
    throw std::runtime_error("no golden case " + name);
  }
  // The options classify.py uses for the case's --dataset.
  static TagclipOptions options_for(const json& c) {
    return c.at("dataset") == "cocostuff" ? cocostuff_options(model_->architecture().vision_layers)
                                          : TagclipOptions{};
  }
  static TagclipPipeline pipeline_for(const json& c, const TagclipOptions& options) {
    return TagclipPipeline(model_, golden_->array("text." + c.at("vocabulary").get<std::string>()),
                           c.at("foreground_classes").get<int64_t>(), options);
  }
  static at::Tensor image_of(const json& c) {
    return golden_->array("image." + c.at("image").get<std::string>());
  }

};

TEST_F(PipelineGolden, GoldenCoversCwrCandidatesAndEarlyStop) {
  bool encoded = false, stopped = false;
  for (const json& c : cases()) {
    encoded |= c.at("cwr_forwards").get<int>() > 0;
    stopped |= c.at("cwr_early_stop").get<bool>() && c.at("cwr_forwards").get<int>() > 0;
  }
  EXPECT_TRUE(encoded);
  EXPECT_TRUE(stopped);  // an early stop after at least one fused candidate
}

TEST_F(PipelineGolden, FinalScoresAndLabelsMatchReference) {
  for (const json& c : cases()) {
    const std::string name = c.at("name");
    const TagResult result = pipeline_for(c, options_for(c)).run(image_of(c));
    const at::Tensor expected = golden_->array(name + ".scores");
    ASSERT_EQ(result.scores.sizes(), expected.sizes()) << name;
    const double error = max_difference(result.scores, expected);
    EXPECT_LE(error, kScoreTolerance) << name;
    EXPECT_EQ(result.labels, as_vector(golden_->array(name + ".labels"))) << name;
    EXPECT_EQ(result.cwr_candidates, c.at("cwr_candidates").get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(static_cast<int>(result.cwr_rescored.size()), c.at("cwr_forwards").get<int>())
        << name;
    EXPECT_EQ(result.cwr_stopped_early, c.at("cwr_early_stop").get<bool>()) << name;
    std::cout << "[ golden ] " << name << ": max |score diff| " << error << ", candidates "
              << result.cwr_candidates.size() << ", encoded " << result.cwr_rescored.size()
              << (result.cwr_stopped_early ? ", stopped early" : "") << std::endl;
  }
}

TEST_F(PipelineGolden, StagesMatchReference) {
  // Cases with stored intermediates: C, R after DMAR, and the local scores before CWR.
  int checked = 0;
  for (const json& c : cases()) {
    const std::string name = c.at("name");
    at::Tensor expected_coarse;
    try {
      expected_coarse = golden_->array(name + ".coarse");
    } catch (const std::runtime_error&) {
      continue;
    }
    const TagclipOptions options = options_for(c);
    const at::InferenceMode guard;
    VisionForwardOptions forward;
    forward.self_only_last_block = true;
    for (int64_t i = 0; i < 12; ++i) forward.attention_blocks.push_back(i);
    const at::Tensor image = image_of(c);
    const VisionOutput out = model_->vision().forward(image, forward);
    const at::Tensor text = golden_->array("text." + c.at("vocabulary").get<std::string>());
    const at::Tensor coarse =
        coarse_patch_probabilities(out.tokens[0], text, model_->logit_scale());
    EXPECT_LE(max_difference(coarse, expected_coarse), kCoarseTolerance) << name;

    std::vector<at::Tensor> patch_attention;
    for (const at::Tensor& map : out.attention)
      patch_attention.push_back(map[0].slice(0, 1).slice(1, 1));
    DmarOptions dmar;
    for (int64_t b : options.refinement_blocks)
      dmar.refinement_blocks.push_back(b < 0 ? 12 + b : b);
    dmar.vote_count = 4;
    const DmarResult refined =
        dmar_refine(patch_attention, coarse, image.size(2) / 16, image.size(3) / 16,
                    c.at("foreground_classes").get<int64_t>(), dmar);
    EXPECT_LE(max_difference(refined.refined, golden_->array(name + ".refined")), kScoreTolerance)
        << name;
    EXPECT_LE(max_difference(refined.local_scores, golden_->array(name + ".local_scores")),
              kScoreTolerance)
        << name;
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST_F(PipelineGolden, CoarseAndDmarMethodsStopEarlierInTheChain) {
  const json& c = find_case("squirrel_small.coco");
  const int64_t fg = c.at("foreground_classes");
  TagclipOptions options;
  options.keep_patch_maps = true;
  options.method = TagclipMethod::kCoarse;
  const TagResult coarse = pipeline_for(c, options).run(image_of(c));
  const at::Tensor expected_coarse =
      std::get<0>(golden_->array("squirrel_small.coco.coarse").slice(1, 0, fg).max(0));
  EXPECT_LE(max_difference(coarse.scores, expected_coarse), kCoarseTolerance);
  EXPECT_TRUE(coarse.cwr_candidates.empty());

  options.method = TagclipMethod::kDmar;
  const TagResult dmar = pipeline_for(c, options).run(image_of(c));
  EXPECT_LE(max_difference(dmar.scores, golden_->array("squirrel_small.coco.local_scores")),
            kScoreTolerance);
  // Patch maps [K_fg, 4, 4]: their spatial max is the local score.
  ASSERT_EQ(dmar.patch_maps.sizes(), (at::IntArrayRef{fg, 4, 4}));
  EXPECT_TRUE(dmar.patch_maps.flatten(1).amax(1).equal(dmar.scores));

  options.keep_patch_maps = false;
  options.method = TagclipMethod::kTagclip;
  EXPECT_FALSE(pipeline_for(c, options).run(image_of(c)).patch_maps.defined());
}

TEST_F(PipelineGolden, GlobalMethodIsPlainClipOnTheResizedImage) {
  const json& c = find_case("building_portrait.voc");
  TagclipOptions options;
  options.method = TagclipMethod::kGlobal;
  const TagResult result = pipeline_for(c, options).run(image_of(c));
  ASSERT_EQ(result.scores.sizes(), (at::IntArrayRef{20}));
  const at::InferenceMode guard;
  const at::Tensor resized = at::upsample_bilinear2d(image_of(c), {224, 224}, false);
  const at::Tensor tokens = model_->vision().forward(resized, {}).tokens;
  const at::Tensor expected =
      class_probabilities(tokens.select(1, 0), golden_->array("text.voc"), model_->logit_scale())[0]
          .slice(0, 0, 20);
  EXPECT_LE(max_difference(result.scores, expected), 1e-6);
  EXPECT_LT(result.scores.sum().item<double>(), 1.0);  // background takes part in the softmax
}

TEST_F(PipelineGolden, BatchedCwrEqualsSequential) {
  int compared = 0;
  for (const json& c : cases()) {
    if (c.at("cwr_forwards").get<int>() < 2) continue;
    TagclipOptions sequential = options_for(c);
    sequential.batched_cwr = false;
    TagclipOptions batched = options_for(c);
    batched.cwr_max_batch = 3;
    const TagResult a = pipeline_for(c, sequential).run(image_of(c));
    const TagResult b = pipeline_for(c, batched).run(image_of(c));
    EXPECT_EQ(a.cwr_rescored, b.cwr_rescored);
    EXPECT_LE(max_difference(a.scores, b.scores), kBatchedTolerance) << c.at("name");
    ++compared;
  }
  EXPECT_GE(compared, 3);
}

TEST_F(PipelineGolden, EarlyStopCanBeTurnedOff) {
  // The reference encodes the first of four candidates here and stops at the second, whose
  // region lies in the last row or column; so do the remaining two.
  const json& c = find_case("happyfish_strip.coco");
  const std::vector<int64_t> candidates = c.at("cwr_candidates");
  TagclipOptions options;
  options.cwr_early_stop = false;
  const TagResult skipping = pipeline_for(c, options).run(image_of(c));
  EXPECT_FALSE(skipping.cwr_stopped_early);
  EXPECT_EQ(skipping.cwr_rescored, std::vector<int64_t>{candidates.front()});
  EXPECT_LE(max_difference(skipping.scores, golden_->array("happyfish_strip.coco.scores")),
            kScoreTolerance);
  // Unclipped boxes are never empty here: every candidate is encoded.
  options.clip_box_ends = false;
  const TagResult unclipped = pipeline_for(c, options).run(image_of(c));
  EXPECT_EQ(unclipped.cwr_rescored, unclipped.cwr_candidates);
  EXPECT_FALSE(unclipped.cwr_stopped_early);
}

TEST_F(PipelineGolden, QuirkSwitchesEachChangeTheNumbers) {
  const json& c = find_case("building_portrait.coco");
  const at::Tensor faithful = pipeline_for(c, TagclipOptions{}).run(image_of(c)).scores;
  auto scores_with = [&](auto&& change) {
    TagclipOptions options;
    change(options);
    return pipeline_for(c, options).run(image_of(c)).scores;
  };
  EXPECT_GT(max_difference(faithful, scores_with([](auto& o) { o.self_only_last_block = false; })),
            1e-6);
  EXPECT_GT(max_difference(
                faithful, scores_with([](auto& o) { o.round_resized_positional_to_fp16 = false; })),
            0.0);
  EXPECT_GT(max_difference(faithful, scores_with([](auto& o) { o.clip_box_ends = false; })), 1e-6);
}

TEST_F(PipelineGolden, DecodedImagesGiveTheSameTensorsAndScores) {
  // The stage tests above start from the reference's tensors; this closes the loop through
  // decode_image and preprocess_for_clip.
  for (const json& c : cases()) {
    if (c.at("vocabulary") != "voc" || c.at("dataset") != "voc2007") continue;
    const std::string image = c.at("image");
    const at::Tensor tensor =
        preprocess_for_clip(decode_image(testing::data_path("images/" + image)), 16);
    ASSERT_EQ(tensor.sizes(), image_of(c).sizes()) << image;
    EXPECT_LE(max_difference(tensor, image_of(c)), 1e-6) << image;
    const TagResult result = pipeline_for(c, TagclipOptions{}).run(tensor);
    EXPECT_LE(
        max_difference(result.scores, golden_->array(c.at("name").get<std::string>() + ".scores")),
        kScoreTolerance)
        << image;
  }
}

TEST(TagclipOptions, DefaultsValidateAndPrint) {
  const TagclipOptions options;
  EXPECT_NO_THROW(options.validate(12));
  EXPECT_NO_THROW(options.validate(4));
  const std::string text = options.to_string();
  for (const char* part : {"method=tagclip", "refinement_blocks=[-4,-3,-2]", "vote_count=auto",
                           "clip_box_ends=true", "cwr_early_stop=true",
                           "round_resized_positional_to_fp16=true", "self_only_last_block=true"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " in " << text;
}

TEST(TagclipOptions, ValidateRejectsImpossibleValues) {
  auto invalid = [](auto&& change, int64_t layers = 12) {
    TagclipOptions options;
    change(options);
    EXPECT_THROW(options.validate(layers), UsageError) << options.to_string();
  };
  invalid([](auto& o) { o.refinement_blocks = {12}; });
  invalid([](auto& o) { o.refinement_blocks = {-13}; });
  invalid([](auto& o) { o.refinement_blocks = {}; });
  invalid([](auto& o) { o.refinement_blocks = {8, -4}; });  // the same block twice
  invalid([](auto& o) { o.vote_count = 13; });
  invalid([](auto& o) { o.vote_count = -1; });
  invalid([](auto& o) { o.candidate_ratio = 1.5; });
  invalid([](auto& o) { o.label_ratio = -0.1; });
  invalid([](auto& o) { o.self_only_penalty = 5.0; });
  invalid([](auto& o) { o.cwr_max_batch = 0; });
  invalid([](auto&) {}, 3);  // the default blocks -4..-2 do not exist in 3 blocks
}

TEST(TagclipOptions, CocostuffAndMethodNames) {
  const TagclipOptions stuff = cocostuff_options(12);
  EXPECT_EQ(stuff.refinement_blocks.size(), 11u);
  EXPECT_EQ(stuff.refinement_blocks.back(), 10);
  EXPECT_DOUBLE_EQ(stuff.candidate_ratio, 0.1);
  EXPECT_DOUBLE_EQ(stuff.label_ratio, 0.1);
  for (const char* name : {"global", "coarse", "dmar", "tagclip"})
    EXPECT_EQ(to_string(parse_tagclip_method(name)), name);
  EXPECT_THROW(parse_tagclip_method("clip"), UsageError);
}

TEST(TagclipOptions, MethodsThatUseDmarNeedTwoPatchesASide) {
  TagclipOptions options;
  for (const auto& [method, side] : {std::pair{TagclipMethod::kGlobal, 1},
                                     {TagclipMethod::kCoarse, 1},
                                     {TagclipMethod::kDmar, 2},
                                     {TagclipMethod::kTagclip, 2}}) {
    options.method = method;
    EXPECT_EQ(options.min_grid_side(), side) << to_string(method);
  }
  options.clip_box_ends = false;  // boxes that keep the last row need no second one
  EXPECT_EQ(options.min_grid_side(), 1);
}

TEST(TagclipPipelineInputs, RejectsMismatchedShapes) {
  const auto model = ClipModel::load(testing::fidelity_checkpoint_path());
  const at::Tensor text = at::randn({5, 64});
  EXPECT_THROW(TagclipPipeline(model, at::randn({5, 32}), 3), ShapeError);
  EXPECT_THROW(TagclipPipeline(model, text, 6), ShapeError);
  EXPECT_THROW(TagclipPipeline(model, text, 0), ShapeError);
  TagclipOptions bad;
  bad.vote_count = 20;
  EXPECT_THROW(TagclipPipeline(model, text, 3, bad), UsageError);
  const TagclipPipeline pipeline(model, text, 3);
  EXPECT_THROW(pipeline.run(at::zeros({1, 3, 30, 32})), ShapeError);
  EXPECT_THROW(pipeline.run(at::zeros({2, 3, 32, 32})), ShapeError);
  EXPECT_THROW(pipeline.run(at::zeros({3, 32, 32})), ShapeError);
}

}  // namespace
}  // namespace tagclip
