#include "tagclip/model/cuda_support.h"

#include <ATen/Context.h>

#include <string>

#if TAGCLIP_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace tagclip {

void use_exact_float32_on_cuda() {
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
}

#if TAGCLIP_HAVE_CUDA

void synchronize(const c10::Device& device) {
  if (!device.is_cuda()) return;
  const c10::cuda::CUDAGuard guard(device.index());
  c10::cuda::device_synchronize();
}

void release_cached_memory(const c10::Device& device) {
  if (!device.is_cuda()) return;
  const c10::cuda::CUDAGuard guard(device.index());
  c10::cuda::CUDACachingAllocator::emptyCache();
}

std::optional<DeviceMemory> device_memory(const c10::Device& device) {
  if (!device.is_cuda()) return std::nullopt;
  const c10::cuda::CUDAGuard guard(device.index());
  size_t free_bytes = 0, total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return std::nullopt;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  // Index 0 is StatType::AGGREGATE (all pools together); the enum moved namespace between
  // LibTorch releases, its order did not.
  constexpr size_t aggregate = 0;
  DeviceMemory memory;
  memory.total_bytes = static_cast<int64_t>(total_bytes);
  memory.free_bytes = static_cast<int64_t>(free_bytes);
  memory.peak_allocated_bytes = stats.allocated_bytes[aggregate].peak;
  return memory;
}

void reset_peak_memory(const c10::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}

#else

void synchronize(const c10::Device&) {}
void release_cached_memory(const c10::Device&) {}
std::optional<DeviceMemory> device_memory(const c10::Device&) { return std::nullopt; }
void reset_peak_memory(const c10::Device&) {}

#endif

bool is_out_of_memory(const std::exception& e) {
  const std::string message = e.what();
  return message.find("out of memory") != std::string::npos;
}

}  // namespace tagclip
