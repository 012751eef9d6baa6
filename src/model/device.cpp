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
