// VisionTower's fast paths against its plain one on seeded input (ncnn's pattern).
#include <gtest/gtest.h>

#include "golden_arrays.h"
#include "tagclip/model/clip_model.h"
#include "tagclip/model/vision_tower.h"
#include "test_support.h"

namespace tagclip {
namespace {

// CWR and the global method read the class token alone; its value must not depend on
// whether the other tokens' outputs of the last block were computed.
TEST(VisionTower, ClassTokenOnlyGivesTheFullPassesClassToken) {
  const auto model = ClipModel::load(testing::fidelity_checkpoint_path());
  const int64_t last = model->architecture().vision_layers - 1;
  const at::Tensor images =
      at::cat({testing::synthetic_image(64, 96), testing::synthetic_image(64, 96).flip(-1)}, 0);
  const int64_t tokens = 1 + (64 / 16) * (96 / 16);
  for (const bool masked : {false, true}) {
    SCOPED_TRACE(masked ? "CWR-like mask in every block" : "self-only last block");
    VisionForwardOptions full;
    if (masked) {
      // The class token sees the first half of the patches only, as in a CWR crop.
      at::Tensor mask = at::zeros({tokens, tokens});
      mask.index_put_({0, at::indexing::Slice(1 + tokens / 2, at::indexing::None)}, -100.0);
      full.block_masks.assign(last + 1, mask);
    } else {
      full.self_only_last_block = true;
    }
    full.attention_blocks = {last};
    VisionForwardOptions fast = full;
    fast.class_token_only = true;
    const VisionOutput a = model->vision().forward(images, full);
    const VisionOutput b = model->vision().forward(images, fast);
    ASSERT_EQ(b.tokens.sizes(), (at::IntArrayRef{2, 1, a.tokens.size(2)}));
    EXPECT_TRUE(at::allclose(b.tokens, a.tokens.slice(1, 0, 1), 1e-5, 1e-6));
    ASSERT_EQ(b.attention[0].sizes(), (at::IntArrayRef{2, 1, tokens}));
    EXPECT_TRUE(at::allclose(b.attention[0], a.attention[0].slice(1, 0, 1), 1e-5, 1e-7));
  }
}

}  // namespace
}  // namespace tagclip
