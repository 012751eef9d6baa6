#include "test_support.h"

#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
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

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<nlohmann::json> parse_json_lines(const std::string& text) {
  std::vector<nlohmann::json> values;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) values.push_back(nlohmann::json::parse(line));
  return values;
}

namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

// rm -rf through POSIX, not std::filesystem::remove_all: pip's LibTorch 2.11 exports its
// own copy of remove_all (from the static libstdc++ supplement it is built with), the
// dynamic linker bound this program's calls to it, and it jumped to address 0 (seen on
// an Ubuntu 24.04 GPU machine). Returns false when something could not be removed.
bool remove_tree(const fs::path& root) {
  struct stat info;
  if (::lstat(root.c_str(), &info) != 0) return errno == ENOENT;
  return ::nftw(root.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

fs::path process_scratch_root() {
  return fs::temp_directory_path() / ("tagclip-test-" + std::to_string(::getpid()));
}

// At exit: every scratch folder of this process goes when all its tests passed (ctest runs
// each test in a process of its own, so 400-odd folders, about 1 GB a suite run, would pile
// up in the temp dir otherwise). A failed test's files stay for a look, and the path is said.
void remove_scratch_root_if_passed() {
  const fs::path root = process_scratch_root();
  if (::testing::UnitTest::GetInstance()->Passed()) {
    remove_tree(root);
  } else {
    std::fprintf(stderr, "test scratch files kept in %s\n", root.string().c_str());
  }
}

}  // namespace

std::string make_scratch_dir(const std::string& name) {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit(remove_scratch_root_if_passed); });
  const fs::path dir = process_scratch_root() / name;
  if (!remove_tree(dir)) throw std::runtime_error("cannot empty scratch folder " + dir.string());
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

namespace {

// Every field of the spec: two specs share a checkpoint file only when they are equal.
std::string spec_key(const RandomCheckpointSpec& s) {
  std::ostringstream key;
  key << s.vision_width << "-" << s.vision_layers << "-" << s.patch_size << "-" << s.grid_size
      << "-" << s.embed_dim << "-" << s.text_width << "-" << s.text_layers << "-"
      << s.context_length << "-" << s.vocab_size << "-" << s.store_float16 << "-" << s.seed;
  return key.str();
}

}  // namespace

std::string random_checkpoint_path(const RandomCheckpointSpec& spec, const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::string> written;  // spec_key -> path
  std::lock_guard<std::mutex> lock(mutex);
  const std::string key = spec_key(spec);
  auto it = written.find(key);
  if (it != written.end()) return it->second;
  const std::string folder = "checkpoint-" + name + "-" + key;
  const std::string path = make_scratch_dir(folder) + "/" + name + ".pt";
  write_random_checkpoint(path, spec);
  written[key] = path;
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

KilledRun kill_when_output_holds(const std::string& command, const std::string& output, int lines) {
  fs::remove(output);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string quiet = "exec " + command + " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", quiet.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  KilledRun run;
  auto complete_lines = [&output] {
    const std::string text = read_all(output);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  };
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (fs::exists(output) && complete_lines() >= lines) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      break;
    }
    ::usleep(1000);
  }
  run.lines_at_kill = complete_lines();
  return run;
}

CommandResult run_tag(const std::string& args) {
  static const std::string cache = make_scratch_dir("tag-command-cache");
  return run_command(tagclip_binary() + " tag --model " + fidelity_checkpoint_path() + " --bpe " +
                     bpe_vocabulary_path() + " --cache-dir " + cache + " --threads 2 " + args);
}

}  // namespace tagclip::testing
