// Choosing the device: names, the thread count each device gets by default, and what
// --version says this build can use. Runs without a GPU (a CUDA device is only named).
#include <gtest/gtest.h>

#include "expect_throw.h"
#include "tagclip/errors.h"
#include "tagclip/model/device.h"
#include "test_support.h"

namespace tagclip {
namespace {

TEST(Device, CpuUsesEveryCoreAndAGpuOneThreadByDefault) {
  EXPECT_FALSE(default_thread_count(c10::Device(c10::kCPU)).has_value());
  EXPECT_EQ(default_thread_count(c10::Device(c10::kCUDA, 0)), 1);
  EXPECT_EQ(default_thread_count(c10::Device(c10::kCUDA, 3)), 1);
}

TEST(Device, UnknownNamesAreRefusedWithTheName) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  testing::expect_throw_with<UsageError>([] { parse_device("gpu"); }, "'gpu'");
  testing::expect_throw_with<UsageError>([] { parse_device("cuda:x"); }, "'cuda:x'");
}

TEST(Device, VersionSaysWhichDevicesThisBuildCanUse) {
  const auto version = testing::run_command(testing::tagclip_binary() + " --version");
  ASSERT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE(version.out.find("tagclip " TAGCLIP_VERSION ", "), std::string::npos) << version.out;
  EXPECT_NE(version.out.find(device_summary()), std::string::npos) << version.out;
  if (!cuda_compiled_in()) EXPECT_EQ(device_summary(), "CPU only");
}

}  // namespace
}  // namespace tagclip
