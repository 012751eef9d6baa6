// What tagclip asks of CUDA beyond tensors on a device: exact float32, waiting for the
// queued kernels, and the device's memory. In a build without CUDA, and for a CPU device,
// each is a no-op or says "nothing to report".
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

namespace tagclip {

// Float32 on CUDA computed as float32: no TF32 in cuBLAS products or cuDNN convolutions.
// LibTorch allows TF32 convolutions by default, which rounds the patch embedding's inputs
// to 10 mantissa bits and moves the scores by about 1e-3, ten times the CPU parity bound.
// Process-wide (LibTorch keeps these flags in its global context).
void use_exact_float32_on_cuda();

// Waits for every kernel queued on `device` (nothing on the CPU), so a timer that stops
// after it measures the work and not only its queueing.
void synchronize(const c10::Device& device);

// Hands the CUDA caching allocator's free blocks back to the driver, e.g. after an image
// ran out of memory, so the next image starts from a clean pool.
void release_cached_memory(const c10::Device& device);

struct DeviceMemory {
  int64_t total_bytes = 0;            // the GPU's memory
  int64_t free_bytes = 0;             // free for the driver now
  int64_t peak_allocated_bytes = 0;   // LibTorch's largest allocation total since the reset
};
// nullopt for a CPU device or a build without CUDA.
std::optional<DeviceMemory> device_memory(const c10::Device& device);
void reset_peak_memory(const c10::Device& device);

// Whether `e`'s message is CUDA's (or LibTorch's) out-of-memory report.
bool is_out_of_memory(const std::exception& e);

}  // namespace tagclip
