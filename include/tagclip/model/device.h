// Choosing where the network runs.
#pragma once

#include <c10/core/Device.h>

#include <optional>
#include <string>

namespace tagclip {

// "cpu", "cuda" or "cuda:N". Throws UsageError for anything else, for CUDA when this build
// of LibTorch has no CUDA, and for a CUDA device that is absent.
c10::Device parse_device(const std::string& text);

// Whether this binary was built against a LibTorch with CUDA.
bool cuda_compiled_in();

// Sets LibTorch's intra-op thread count; nullopt means every core. Throws UsageError for a
// count below 1. Returns the count in force.
int set_thread_count(std::optional<int> threads);

}  // namespace tagclip
