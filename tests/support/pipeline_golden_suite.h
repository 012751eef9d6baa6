// The fidelity checkpoint and the reference's pipeline golden cases
// (tests/data/golden/pipeline_reference.*, from scripts/golden/make_pipeline_golden.py),
// loaded once per test suite, for the tests that run the pipeline against them.
#pragma once

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "golden_arrays.h"
#include "tagclip/model/clip_model.h"
#include "test_support.h"

namespace tagclip::testing {

class PipelineGoldenSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    at::set_num_threads(2);
    model_ = ClipModel::load(fidelity_checkpoint_path());
    golden_ = std::make_unique<GoldenArrays>(data_path("golden/pipeline_reference"));
  }
  static void TearDownTestSuite() {
    model_.reset();
    golden_.reset();
  }

  // Every case: {"name", "image", "vocabulary", "dataset", "foreground_classes", ...}.
  static const nlohmann::json& cases() { return golden_->scalars().at("cases"); }

  inline static std::shared_ptr<const ClipModel> model_;
  inline static std::unique_ptr<GoldenArrays> golden_;
};

}  // namespace tagclip::testing
