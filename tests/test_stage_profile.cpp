#include <gtest/gtest.h>

#include <thread>

#include "tagclip/core/stage_profile.h"

namespace tagclip {
namespace {

class StageProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StageProfile::instance().clear();
    StageProfile::instance().set_enabled(true);
  }
  void TearDown() override {
    StageProfile::instance().set_enabled(false);
    StageProfile::instance().clear();
  }
};

const StageTime* find(const std::vector<StageTime>& totals, const std::string& stage) {
  for (const StageTime& t : totals)
    if (t.stage == stage) return &t;
  return nullptr;
}

TEST_F(StageProfileTest, SumsTimeAndCallsPerStageInFirstSeenOrder) {
  for (int i = 0; i < 3; ++i) {
    const StageTimer timer("decode");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  { const StageTimer timer("labels"); }
  const std::vector<StageTime> totals = StageProfile::instance().totals();
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(totals[0].stage, "decode");
  EXPECT_EQ(totals[0].calls, 3);
  EXPECT_GE(totals[0].seconds, 0.006);
  EXPECT_EQ(totals[1].stage, "labels");
  EXPECT_EQ(totals[1].calls, 1);
}

TEST_F(StageProfileTest, RecordsNothingWhenOff) {
  StageProfile::instance().set_enabled(false);
  { const StageTimer timer("decode"); }
  int names_built = 0;
  {
    const StageTimer timer = StageTimer::named([&] {
      ++names_built;
      return std::string("block 00 mlp");
    });
  }
  EXPECT_TRUE(StageProfile::instance().totals().empty());
  EXPECT_EQ(names_built, 0);
}

TEST_F(StageProfileTest, OpaqueStageHidesNestedTimersAndStopEndsEarly) {
  {
    const StageTimer outer("cwr", /*opaque=*/true);
    const StageTimer inner("block 00 attention");
  }
  StageTimer stopped("resize");
  stopped.stop();
  stopped.stop();                                    // a second stop records nothing more
  { const StageTimer after("block 00 attention"); }  // recorded again once cwr is closed
  const std::vector<StageTime> totals = StageProfile::instance().totals();
  ASSERT_EQ(totals.size(), 3u);
  EXPECT_EQ(totals[0].stage, "cwr");
  EXPECT_EQ(find(totals, "resize")->calls, 1);
  EXPECT_EQ(find(totals, "block 00 attention")->calls, 1);
}

TEST_F(StageProfileTest, CountsFromSeveralThreads) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < 100; ++i) const StageTimer timer("decode");
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(find(StageProfile::instance().totals(), "decode")->calls, 400);
}

TEST(StageProfileFormat, TableHasEveryStageTheRestAndTheWall) {
  const std::string table =
      format_stage_profile({{"decode", 0.5, 10}, {"block 00 mlp", 1.5, 10}}, 10, 4.0);
  EXPECT_NE(table.find("stage"), std::string::npos);
  EXPECT_NE(table.find("ms/image"), std::string::npos);
  // decode: 0.5 s over 10 images is 50 ms per image, 12.5 % of the wall.
  EXPECT_NE(table.find("decode"), std::string::npos);
  EXPECT_NE(table.find("50.0"), std::string::npos);
  EXPECT_NE(table.find("12.5%"), std::string::npos);
  // The 2 s no stage covered, and the wall itself.
  EXPECT_NE(table.find("(no stage)"), std::string::npos);
  EXPECT_NE(table.find("2.000"), std::string::npos);
  EXPECT_NE(table.find("wall"), std::string::npos);
  EXPECT_NE(table.find("10 img"), std::string::npos);
}

}  // namespace
}  // namespace tagclip
