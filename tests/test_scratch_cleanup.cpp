// Test scratch folders (make_scratch_dir) must not pile up in the temp dir: ctest runs each
// test in its own process, and each used to leave its tagclip-test-<pid> folder behind.
// This test runs itself again as a child process (its test binary, one test, TMPDIR set to a
// fresh folder) and looks at what the child left there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace fs = std::filesystem;
using tagclip::testing::make_scratch_dir;
using tagclip::testing::run_command;

namespace {

// Set in the child: "pass" or "fail", what its scratch test does.
constexpr const char* kChildRole = "TAGCLIP_SCRATCH_CHILD";

struct ChildRun {
  int exit_code = -1;
  std::string err;
  std::vector<fs::path> left;  // what the child left in its temp dir
};

ChildRun run_child(const std::string& role, const std::string& temp_dir) {
  fs::remove_all(temp_dir);
  fs::create_directories(temp_dir);
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  const auto result = run_command("TMPDIR=" + temp_dir + " " + kChildRole + "=" + role + " " +
                                  self + " --gtest_filter=ScratchCleanup.ChildWritesScratch");
  ChildRun run{result.exit_code, result.err, {}};
  for (const auto& entry : fs::directory_iterator(temp_dir)) run.left.push_back(entry.path());
  return run;
}

}  // namespace

// In the child, writes a scratch file and passes or fails as told; in the suite (no role
// set) it only checks that a scratch folder is made and usable.
TEST(ScratchCleanup, ChildWritesScratch) {
  const std::string dir = make_scratch_dir("cleanup-probe");
  std::ofstream(dir + "/probe.txt") << "probe\n";
  ASSERT_TRUE(fs::exists(dir + "/probe.txt"));
  const char* role = std::getenv(kChildRole);
  if (role != nullptr && std::string(role) == "fail") ADD_FAILURE() << "failing on purpose";
}

TEST(ScratchCleanup, PassingProcessRemovesItsScratchFolder) {
  const std::string temp_dir = make_scratch_dir("child-temp-pass");
  const ChildRun run = run_child("pass", temp_dir);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(run.left.empty()) << "left behind: " << run.left.front();
}

TEST(ScratchCleanup, FailingProcessKeepsItsScratchFolderAndSaysWhere) {
  const std::string temp_dir = make_scratch_dir("child-temp-fail");
  const ChildRun run = run_child("fail", temp_dir);
  EXPECT_NE(run.exit_code, 0);
  ASSERT_EQ(run.left.size(), 1u);
  const fs::path kept = run.left.front();
  EXPECT_EQ(kept.filename().string().rfind("tagclip-test-", 0), 0u) << kept;
  EXPECT_TRUE(fs::exists(kept / "cleanup-probe" / "probe.txt"));
  EXPECT_NE(run.err.find("test scratch files kept in " + kept.string()), std::string::npos)
      << run.err;
}
