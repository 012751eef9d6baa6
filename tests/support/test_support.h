// Shared by the tests: where data lives, scratch folders, small random checkpoints.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/model/random_checkpoint.h"

namespace tagclip::testing {

// Committed test data: tests/data/<relative>.
std::string data_path(const std::string& relative);

// CLIP's BPE vocabulary as committed in models/. Throws std::runtime_error naming the path
// when the checkout lacks it, so a test that needs it fails loudly instead of skipping.
std::string bpe_vocabulary_path();

// A committed file of the checkout (models/demo-clip.pt, ...). Throws like
// bpe_vocabulary_path() when it is missing.
std::string committed_file(const std::string& relative);

// The whole content of a file ("" when it cannot be read).
std::string read_all(const std::string& path);

// One parsed JSON value per line of `text` (JSON Lines).
std::vector<nlohmann::json> parse_json_lines(const std::string& text);

// A fresh empty folder <temp dir>/tagclip-test-<pid>/<name>. The process removes its
// tagclip-test-<pid> folder at exit when all its tests passed, and keeps it (saying where)
// when one failed.
std::string make_scratch_dir(const std::string& name);

// The fidelity checkpoint: 12 vision blocks (width 128, 2 heads, patch 16, grid 14),
// 2 text blocks (width 64), embed 64, seed 0, fp16, written once per test binary.
const RandomCheckpointSpec& fidelity_spec();
std::string fidelity_checkpoint_path();

// Writes (once per process and spec: the cache is keyed by every field of `spec`, `name` only
// names the file) a checkpoint of `spec` and returns its path.
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

// Starts `command` (run by /bin/sh, its output discarded) and kills it with SIGKILL as soon
// as the file `output` exists and holds `lines` complete lines (0: as soon as it exists).
struct KilledRun {
  bool killed = false;    // false: the command ended on its own first
  int lines_at_kill = 0;  // complete lines in `output` once the process was gone
};
KilledRun kill_when_output_holds(const std::string& command, const std::string& output, int lines);

// Runs `tagclip tag ARGS` with the fidelity checkpoint, the committed vocabulary, 2 threads
// and one text-embedding cache per test process.
CommandResult run_tag(const std::string& args);

}  // namespace tagclip::testing
