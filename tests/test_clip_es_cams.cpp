// CLIP-ES's CAMs against the authors' generate_cams_{voc,coco,cocostuff}.py:
// tests/data/clip_es_cams/cams_reference.* comes from scripts/golden/make_cams_golden.py,
// which runs the reference (fp32, CPU) on the checkpoint `tagclip random-checkpoint --seed 0`
// (= fidelity_spec() here) and keeps every k-th value of its float16 attn_highres and
// highres. This test decodes the same files and encodes the same prompts itself.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "expect_throw.h"
#include "golden_arrays.h"
#include "tagclip/core/clip_es_vocabularies.h"
#include "tagclip/errors.h"
#include "tagclip/io/image_io.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/pipeline/clip_es_cams.h"
#include "tagclip/pipeline/preprocess.h"
#include "test_support.h"

namespace tagclip {
namespace {

using nlohmann::json;
using testing::GoldenArrays;

// The bound, on the float16 values the reference stores.
constexpr double kCamTolerance = 2e-3;

std::vector<int64_t> as_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kLong).contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

class ClipEsGolden : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(2);
    model_ = ClipModel::load(testing::fidelity_checkpoint_path());
    tokenizer_ = std::make_unique<ClipTokenizer>(testing::bpe_vocabulary_path());
    golden_ = std::make_unique<GoldenArrays>(testing::data_path("clip_es_cams/cams_reference"));
  }
  static void TearDownTestSuite() {
    generators_.clear();
    tokenizer_.reset();
    model_.reset();
    golden_.reset();
  }

  static const ClipEsCamGenerator& generator(const std::string& dataset) {
    auto found = generators_.find(dataset);
    if (found == generators_.end())
      found = generators_
                  .emplace(dataset, std::make_unique<ClipEsCamGenerator>(
                                        model_, *tokenizer_, clip_es_vocabulary(dataset)))
                  .first;
    return *found->second;
  }

  // Runs one golden case and compares keys and both maps; returns the largest differences.
  static std::pair<double, double> check_case(const json& c) {
    const std::string name = c.at("name");
    const cv::Mat rgb = decode_image(testing::data_path(c.at("image").get<std::string>()));
    const at::Tensor image = preprocess_for_clip(rgb, 16);
    const ClipEsCams cams =
        generator(c.at("dataset"))
            .generate(image, rgb.rows, rgb.cols, c.at("labels").get<std::vector<int64_t>>());
    EXPECT_EQ(cams.keys, as_vector(golden_->array(name + ".keys"))) << name;
    const std::vector<int64_t> shape = c.at("shape");
    EXPECT_EQ(cams.attn_highres.sizes().vec(), shape) << name;
    EXPECT_EQ(cams.highres.sizes().vec(), shape) << name;
    const int64_t stride = golden_->scalars().at("sample_stride");
    // Rounded to float16 as the reference stores them.
    auto sampled = [&](const at::Tensor& maps) {
      return testing::every_nth(maps.to(at::kHalf).to(at::kFloat), stride);
    };
    const at::Tensor refined = sampled(cams.attn_highres);
    const at::Tensor unrefined = sampled(cams.highres);
    const at::Tensor expected_refined = golden_->array(name + ".attn_highres");
    const at::Tensor expected_unrefined = golden_->array(name + ".highres");
    EXPECT_EQ(refined.numel(), expected_refined.numel()) << name;
    const double refined_error = (refined - expected_refined).abs().max().item<double>();
    const double unrefined_error = (unrefined - expected_unrefined).abs().max().item<double>();
    EXPECT_LE(refined_error, kCamTolerance) << name;
    EXPECT_LE(unrefined_error, kCamTolerance) << name;
    // The maps are not flat: the samples span most of [0, 1).
    EXPECT_GT(expected_refined.max().item<double>(), 0.7) << name;
    EXPECT_GT(expected_unrefined.max().item<double>(), 0.7) << name;
    EXPECT_LT(expected_unrefined.min().item<double>(), 0.1) << name;
    std::cout << name << ": max |attn_highres - reference| " << refined_error
              << ", max |highres - reference| " << unrefined_error << "\n";
    return {refined_error, unrefined_error};
  }

  static const json& find_case(const std::string& name) {
    for (const json& c : golden_->scalars().at("cases"))
      if (c.at("name") == name) return c;
    throw std::runtime_error("no golden case " + name);
  }

  static std::shared_ptr<const ClipModel> model_;
  static std::unique_ptr<ClipTokenizer> tokenizer_;
  static std::unique_ptr<GoldenArrays> golden_;
  static std::map<std::string, std::unique_ptr<ClipEsCamGenerator>> generators_;
};

std::shared_ptr<const ClipModel> ClipEsGolden::model_;
std::unique_ptr<ClipTokenizer> ClipEsGolden::tokenizer_;
std::unique_ptr<GoldenArrays> ClipEsGolden::golden_;
std::map<std::string, std::unique_ptr<ClipEsCamGenerator>> ClipEsGolden::generators_;

TEST_F(ClipEsGolden, VocabulariesAreTheOnesTheReferenceEncodes) {
  for (const std::string dataset : {"voc", "coco", "cocostuff"}) {
    const json& expected = golden_->scalars().at("vocabularies").at(dataset);
    const ClipEsVocabulary vocabulary = clip_es_vocabulary(dataset);
    EXPECT_EQ(vocabulary.class_prompts, expected.at("classes").get<std::vector<std::string>>())
        << dataset;
    EXPECT_EQ(vocabulary.background_words,
              expected.at("background").get<std::vector<std::string>>())
        << dataset;
    EXPECT_EQ(vocabulary.prompt_template, "a clean origami {}.");
    EXPECT_EQ(vocabulary.refinement_blocks_from_end, 8);
    EXPECT_EQ(vocabulary.refinement_excludes_last_block, dataset == "voc");
    EXPECT_DOUBLE_EQ(vocabulary.box_threshold, dataset == "voc" ? 0.4 : 0.7);
  }
}

TEST_F(ClipEsGolden, VocImagesMatchTheReference) {
  check_case(find_case("fruits.voc"));
  check_case(find_case("squirrel.voc"));
}

TEST_F(ClipEsGolden, CocoImagesMatchTheReferenceWithARepeatedLabel) {
  const json& messi = find_case("messi.coco");
  ASSERT_EQ(messi.at("labels"), json({0, 32, 0}));
  check_case(messi);
  check_case(find_case("fruits.coco"));
}

TEST_F(ClipEsGolden, SeventySixPatchesRunTheLastBlockTwiceAsTheReference) {
  // 61x300 -> 64x304: a 4x19 grid, 1 + 76 = 77 tokens, the reference's test for text.
  const json& voc = find_case("strip.voc");
  ASSERT_EQ(voc.at("shape"), json({2, 61, 300}));
  ASSERT_EQ(1 + (64 / 16) * (304 / 16), 77);
  check_case(voc);
  check_case(find_case("strip.coco"));
}

TEST_F(ClipEsGolden, CocoStuffMatchesTheReference) { check_case(find_case("squirrel.cocostuff")); }

TEST_F(ClipEsGolden, RefusesEmptyOrOutOfRangeLabels) {
  const ClipEsCamGenerator& voc = generator("voc");
  const at::Tensor image = at::zeros({1, 3, 32, 48});
  testing::expect_throw_with<UsageError>([&] { voc.generate(image, 30, 45, {}); },
                                         "at least one label");
  testing::expect_throw_with<UsageError>(
      [&] {
        voc.generate(image, 30, 45, {3, 20});
      },
      "label 20 out of range 0..19");
  testing::expect_throw_with<UsageError>([&] { voc.generate(image, 30, 45, {-1}); }, "label -1");
  testing::expect_throw_with<ShapeError>(
      [&] {
        voc.generate(at::zeros({1, 3, 30, 48}), 30, 45, {1});
      },
      "multiples of 16");
}

TEST_F(ClipEsGolden, GeneratesMapsAtTheOriginalSize) {
  const at::Tensor image = at::randn({1, 3, 48, 32}, at::TensorOptions().dtype(at::kFloat));
  const ClipEsCams cams = generator("coco").generate(image, 40, 30, {5, 2, 5});
  EXPECT_EQ(cams.keys, (std::vector<int64_t>{5, 2, 5}));
  EXPECT_EQ(cams.attn_highres.sizes(), (at::IntArrayRef{3, 40, 30}));
  EXPECT_EQ(cams.highres.sizes(), (at::IntArrayRef{3, 40, 30}));
  EXPECT_EQ(cams.attn_highres.scalar_type(), at::kFloat);
  EXPECT_TRUE(cams.attn_highres.device().is_cpu());
  // A repeated label has the first occurrence's target, so the same maps.
  EXPECT_TRUE(at::equal(cams.highres[0], cams.highres[2]));
  EXPECT_TRUE(at::equal(cams.attn_highres[0], cams.attn_highres[2]));
  EXPECT_GE(cams.highres.min().item<double>(), 0.0);
  EXPECT_LT(cams.highres.max().item<double>(), 1.0);
}

TEST_F(ClipEsGolden, SameMapsUnderInferenceModeAndWithAModelLoadedThere) {
  // Callers run the rest of their pipeline under inference mode; Grad-CAM turns autograd
  // back on for its one block.
  const at::Tensor image = at::randn({1, 3, 32, 64});
  const ClipEsCams plain = generator("voc").generate(image, 30, 60, {3, 7});
  const at::InferenceMode guard;
  const ClipEsCams guarded = generator("voc").generate(image, 30, 60, {3, 7});
  EXPECT_TRUE(at::equal(plain.attn_highres, guarded.attn_highres));
  EXPECT_TRUE(at::equal(plain.highres, guarded.highres));
  const auto inference_model = ClipModel::load(testing::fidelity_checkpoint_path());
  const ClipEsCamGenerator inference_generator(inference_model, *tokenizer_,
                                               clip_es_vocabulary("voc"));
  const ClipEsCams loaded_there = inference_generator.generate(image, 30, 60, {3, 7});
  EXPECT_TRUE(at::equal(plain.attn_highres, loaded_there.attn_highres));
  EXPECT_TRUE(at::equal(plain.highres, loaded_there.highres));
}

TEST(ClipEsPositionalTable, RoundedToFloat16EvenAtTheCheckpointsOwnGrid) {
  // upsample_pos_emb runs at every size and stores float16; with float16 weights (every
  // release) that changes nothing, with float32 weights it rounds the table.
  RandomCheckpointSpec spec;
  spec.vision_width = 64;
  spec.vision_layers = 2;
  spec.grid_size = 2;
  spec.embed_dim = 16;
  spec.text_layers = 1;
  at::manual_seed(4);
  const at::Tensor image = at::randn({1, 3, 32, 32});  // the native 2x2 grid
  for (const bool stored_fp16 : {true, false}) {
    spec.store_float16 = stored_fp16;
    const auto model = ClipModel::load(
        testing::random_checkpoint_path(spec, stored_fp16 ? "pos_fp16" : "pos_fp32"));
    VisionForwardOptions plain, rounded;
    rounded.round_native_positional_to_fp16 = true;
    const at::Tensor a = model->vision().forward(image, plain).tokens;
    const at::Tensor b = model->vision().forward(image, rounded).tokens;
    EXPECT_EQ(at::equal(a, b), stored_fp16);
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-2);
  }
}

TEST(ClipEsVocabulary, CustomClassesGetDocumentedDefaults) {
  const ClipEsVocabulary custom =
      clip_es_vocabulary_for_classes({"teddy bear", " Tree ", "keyboard"});
  EXPECT_EQ(custom.class_prompts, (std::vector<std::string>{"teddy bear", " Tree ", "keyboard"}));
  // COCO's 23 words less "tree", which is one of the classes.
  EXPECT_EQ(custom.background_words.size(), 22u);
  EXPECT_EQ(std::count(custom.background_words.begin(), custom.background_words.end(), "tree"), 0);
  EXPECT_EQ(custom.background_words.front(), "ground");
  EXPECT_EQ(custom.prompt_template, "a clean origami {}.");
  EXPECT_EQ(custom.refinement_blocks_from_end, 8);
  EXPECT_FALSE(custom.refinement_excludes_last_block);
  EXPECT_DOUBLE_EQ(custom.box_threshold, 0.4);
  testing::expect_throw_with<VocabularyError>([] { clip_es_vocabulary("ade20k"); }, "ade20k");
}

TEST(ClipEsRefinementSlice, FollowsPythonSlices) {
  // 11 encoder maps + the rerun: [-8:-1] = 4..10, [-8:] = 4..11.
  EXPECT_EQ(refinement_slice(12, 8, true), (std::pair<int64_t, int64_t>{4, 11}));
  EXPECT_EQ(refinement_slice(12, 8, false), (std::pair<int64_t, int64_t>{4, 12}));
  // The 77-token case: 12 encoder maps + the rerun.
  EXPECT_EQ(refinement_slice(13, 8, true), (std::pair<int64_t, int64_t>{5, 12}));
  // Fewer maps than asked for: from the first.
  EXPECT_EQ(refinement_slice(3, 8, false), (std::pair<int64_t, int64_t>{0, 3}));
  EXPECT_EQ(refinement_slice(1, 8, true), (std::pair<int64_t, int64_t>{0, 0}));
}

}  // namespace
}  // namespace tagclip
