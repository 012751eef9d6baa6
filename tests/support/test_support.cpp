#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace tagclip::testing {
namespace fs = std::filesystem;

std::string data_path(const std::string& relative) {
  return std::string(TAGCLIP_TEST_DATA_DIR) + "/" + relative;
}

std::string committed_file(const std::string& relative) {
  const fs::path path = fs::path(TAGCLIP_SOURCE_DIR) / relative;
  if (!fs::exists(path))
    throw std::runtime_error(path.string() +
                             " is missing: it is committed with the repository (git checkout -- " +
                             relative + ")");
  return fs::canonical(path).string();
}

std::string bpe_vocabulary_path() { return committed_file("models/bpe_simple_vocab_16e6.txt.gz"); }

std::string make_scratch_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("tagclip-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

const RandomCheckpointSpec& fidelity_spec() {
  static const RandomCheckpointSpec spec = [] {
    RandomCheckpointSpec s;
    s.vision_width = 128;
    s.vision_layers = 12;
    s.patch_size = 16;
    s.grid_size = 14;
    s.embed_dim = 64;
    s.text_width = 64;
    s.text_layers = 2;
    s.seed = 0;
    return s;
  }();
  return spec;
}

std::string random_checkpoint_path(const RandomCheckpointSpec& spec, const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::string> written;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = written.find(name);
  if (it != written.end()) return it->second;
  const std::string path = make_scratch_dir("checkpoint-" + name) + "/" + name + ".pt";
  write_random_checkpoint(path, spec);
  written[name] = path;
  return path;
}

std::string fidelity_checkpoint_path() {
  return random_checkpoint_path(fidelity_spec(), "fidelity");
}

std::string tagclip_binary() { return TAGCLIP_BINARY_PATH; }

CommandResult run_command(const std::string& command) {
  const fs::path err_file =
      fs::temp_directory_path() / ("tagclip-test-stderr-" + std::to_string(::getpid()) + ".txt");
  CommandResult result;
  const std::string full = command + " 2>" + err_file.string();
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_file);
  std::stringstream ss;
  ss << err.rdbuf();
  result.err = ss.str();
  fs::remove(err_file);
  return result;
}

}  // namespace tagclip::testing
