// Shared by the tests: where data lives, scratch folders, small random checkpoints.
#pragma once

#include <optional>
#include <string>

#include "tagclip/random_checkpoint.h"

namespace tagclip::testing {

// Committed test data: tests/data/<relative>.
std::string data_path(const std::string& relative);

// CLIP's BPE vocabulary as committed in models/. Throws std::runtime_error naming the path
// when the checkout lacks it, so a test that needs it fails loudly instead of skipping.
std::string bpe_vocabulary_path();

// A committed file of the checkout (models/demo-clip.pt, ...). Throws like
// bpe_vocabulary_path() when it is missing.
std::string committed_file(const std::string& relative);

// A fresh empty folder under the system temp dir, removed by the OS or the next run.
std::string make_scratch_dir(const std::string& name);

// The fidelity checkpoint: 12 vision blocks (width 128, 2 heads, patch 16, grid 14),
// 2 text blocks (width 64), embed 64, seed 0, fp16, written once per test binary.
const RandomCheckpointSpec& fidelity_spec();
std::string fidelity_checkpoint_path();

// Writes (once per process) a checkpoint of `spec` and returns its path.
std::string random_checkpoint_path(const RandomCheckpointSpec& spec, const std::string& name);

// The built tagclip executable.
std::string tagclip_binary();

// Runs a shell command, returning its exit status and what it printed on stdout
// (stderr goes to `stderr_path` when given).
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& command);

}  // namespace tagclip::testing
