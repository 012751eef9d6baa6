#include "tagclip/model/default_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace tagclip {
namespace {
namespace fs = std::filesystem;

std::string executable_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.parent_path().string();
}

std::string find_in_models(const char* env_var, const std::string& file_name) {
  if (const char* from_env = std::getenv(env_var); from_env != nullptr && *from_env != '\0')
    return from_env;
  std::vector<fs::path> candidates = {fs::path("models") / file_name};
  if (const std::string dir = executable_dir(); !dir.empty()) {
    candidates.push_back(fs::path(dir) / ".." / "models" / file_name);
    // An installed tagclip: <prefix>/bin/tagclip and <prefix>/share/tagclip/models.
    candidates.push_back(fs::path(dir) / ".." / "share" / "tagclip" / "models" / file_name);
  }
  candidates.push_back(fs::path(TAGCLIP_DEFAULT_SOURCE_DIR) / "models" / file_name);
  candidates.push_back(fs::path(TAGCLIP_INSTALL_MODELS_DIR) / file_name);
  std::error_code ec;
  for (const fs::path& candidate : candidates)
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  return (fs::path("models") / file_name).string();
}

}  // namespace

std::string default_model_path() { return find_in_models("TAGCLIP_MODEL", "ViT-B-16.pt"); }

std::string default_bpe_path() {
  return find_in_models("TAGCLIP_BPE", "bpe_simple_vocab_16e6.txt.gz");
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0')
    return (fs::path(xdg) / "tagclip").string();
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return (fs::path(home) / ".cache" / "tagclip").string();
  return (fs::path(".cache") / "tagclip").string();
}

}  // namespace tagclip
