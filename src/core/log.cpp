#include "tagclip/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace tagclip {

spdlog::logger& logger() {
  static std::mutex mutex;
  const std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<spdlog::logger> found = spdlog::get("tagclip");
  if (!found) found = spdlog::stderr_color_mt("tagclip");
  return *found;
}

}  // namespace tagclip
