// Choosing where the network runs.
#pragma once

#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <vector>

namespace tagclip {

// "cpu", "cuda" or "cuda:N". Throws UsageError for anything else, for CUDA when this build
// of LibTorch has no CUDA, and for a CUDA device that is absent.
c10::Device parse_device(const std::string& text);

// A --device value that may name several devices, for tag and eval: "cuda:0,cuda:1", or
// "cuda:all" for every GPU present. Each entry is checked as parse_device checks it and
// returned as written ("cuda:all" expanded to cuda:0, cuda:1, ...); a single device gives
// a list of one. A device named twice is kept twice (tag gives it two workers).
// Throws UsageError for an empty entry, an unknown or absent device, or cuda:all with no GPU.
std::vector<std::string> parse_device_list(const std::string& text);

// Whether this binary was built against a LibTorch with CUDA.
bool cuda_compiled_in();

// "CPU only" or "CUDA compiled in, 2 devices", for --version.
std::string device_summary();

// LibTorch's CPU thread count when none is asked for: every core on the CPU; 1 beside a
// GPU, where that pool only runs the small per-image work around the network (DMAR's
// boxes, CWR's regions) and one thread tagged VOC-sized images fastest on an H200 machine
// (batches of 32: 75 against 66 images/s with 16 threads in fp32, 82 against 72 in bf16;
// one image at a time: 52 against 40 and 58 against 42; README "On a GPU").
std::optional<int> default_thread_count(const c10::Device& device);

// Sets LibTorch's intra-op thread count; nullopt means every core. Throws UsageError for a
// count below 1. Returns the count in force.
int set_thread_count(std::optional<int> threads);

// Makes this thread, and the threads it starts from now on (LibTorch's OpenMP workers
// among them), treat float32 numbers below 1.2e-38 as zero. The last block's self-only
// mask (-100 off the diagonal) gives probabilities near e^-100, which the x86 FPU handles
// about a hundred times slower than normal numbers: without this that one block took
// longer than the eleven others together. The products they feed change by less than
// 1e-37. Call it first thing in main, before any LibTorch work starts its threads. Returns
// false where the CPU cannot flush.
bool flush_denormals_to_zero();

// What a program calls first thing in main: flush_denormals_to_zero(), unless the
// environment has TAGCLIP_BASELINE_KERNELS=1, which keeps the arithmetic as it was before
// the speed work (denormals kept, ATen's own float32 products instead of oneDNN's) so a
// benchmark can show what that work bought.
void set_up_cpu_arithmetic_from_environment();

}  // namespace tagclip
