#include "tagclip/model/precision.h"

#include "tagclip/errors.h"

namespace tagclip {

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  if (name == "fp16") return Precision::kFloat16;
  throw UsageError("unknown precision '" + name + "' (expected fp32, bf16 or fp16)");
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kFloat32:
      return "fp32";
    case Precision::kBFloat16:
      return "bf16";
    case Precision::kFloat16:
      return "fp16";
  }
  return "unknown";
}

std::optional<at::ScalarType> product_dtype(Precision precision) {
  switch (precision) {
    case Precision::kFloat32:
      return std::nullopt;
    case Precision::kBFloat16:
      return at::kBFloat16;
    case Precision::kFloat16:
      return at::kHalf;
  }
  return std::nullopt;
}

void check_precision_on(Precision precision, const c10::Device& device) {
  if (precision == Precision::kFloat16 && device.is_cpu())
    throw UsageError(
        "--precision fp16 needs a CUDA device (LibTorch has no float16 matrix products on the "
        "CPU); on the CPU use bf16");
}

bool cpu_has_native_bfloat16() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

}  // namespace tagclip
