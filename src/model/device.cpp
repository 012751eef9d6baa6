#include "tagclip/model/device.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

#include "tagclip/errors.h"
#include "tagclip/model/matmul.h"

namespace tagclip {

bool cuda_compiled_in() { return TAGCLIP_HAVE_CUDA != 0; }

std::string device_summary() {
  if (!cuda_compiled_in()) return "CPU only";
  const int count = at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0;
  return "CUDA compiled in, " + std::to_string(count) + (count == 1 ? " device" : " devices");
}

c10::Device parse_device(const std::string& text) {
  if (text == "cpu") return c10::Device(c10::kCPU);
  if (text.find(',') != std::string::npos || text == "cuda:all")
    throw UsageError("'" + text + "' names several devices; only tag and eval spread images " +
                     "over several, this takes one (cpu, cuda or cuda:N)");
  static const std::regex cuda_pattern("cuda(:([0-9]+))?");
  std::smatch match;
  if (!std::regex_match(text, match, cuda_pattern))
    throw UsageError("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
  if (!cuda_compiled_in() || !at::hasCUDA())
    throw UsageError("device '" + text +
                     "' asked for, but this tagclip was built against a LibTorch without CUDA "
                     "or no CUDA driver is present; use --device cpu");
  const int index = match[2].matched ? std::stoi(match[2].str()) : 0;
  const int count = static_cast<int>(at::getNumGPUs());
  if (index >= count)
    throw UsageError("device '" + text + "' asked for, but only " + std::to_string(count) +
                     " CUDA device(s) are present");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::vector<std::string> parse_device_list(const std::string& text) {
  std::vector<std::string> devices;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    const std::string entry =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (entry.empty())
      throw UsageError("device list '" + text + "' has an empty entry (expected e.g. " +
                       "cuda:0,cuda:1)");
    if (entry == "cuda:all") {
      if (!cuda_compiled_in() || !at::hasCUDA() || at::getNumGPUs() == 0)
        throw UsageError("cuda:all asked for, but no CUDA device is present " +
                         std::string(cuda_compiled_in() ? "(no driver or no GPU)"
                                                        : "(this tagclip was built without CUDA)"));
      for (int i = 0; i < static_cast<int>(at::getNumGPUs()); ++i)
        devices.push_back("cuda:" + std::to_string(i));
    } else {
      parse_device(entry);
      devices.push_back(entry);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return devices;
}

std::optional<int> default_thread_count(const c10::Device& device) {
  return device.is_cuda() ? std::optional<int>(1) : std::nullopt;
}

int set_thread_count(std::optional<int> threads) {
  if (threads && *threads < 1)
    throw UsageError("thread count must be at least 1, got " + std::to_string(*threads));
  at::set_num_threads(
      threads.value_or(static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))));
  return at::get_num_threads();
}

bool flush_denormals_to_zero() { return at::globalContext().setFlushDenormal(true); }

void set_up_cpu_arithmetic_from_environment() {
  const char* baseline = std::getenv("TAGCLIP_BASELINE_KERNELS");
  if (baseline != nullptr && std::string(baseline) == "1")
    set_onednn_float32_matmul(false);
  else
    flush_denormals_to_zero();
}

}  // namespace tagclip
