#include "tagclip/model/precision.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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
  // CPUID and XCR0 by hand: clang 14's __builtin_cpu_supports knows neither "avx512bf16"
  // nor "amx-bf16". A feature counts only when the OS also saves its registers.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return false;  // OSXSAVE
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  const bool avx512_state = (xcr0_low & 0xE6u) == 0xE6u;     // SSE, AVX, opmask, ZMM
  const bool amx_state = (xcr0_low & 0x60000u) == 0x60000u;  // TILECFG, TILEDATA
  unsigned leaf7_eax = 0, leaf7_ebx = 0, leaf7_ecx = 0, leaf7_edx = 0;
  if (!__get_cpuid_count(7, 0, &leaf7_eax, &leaf7_ebx, &leaf7_ecx, &leaf7_edx)) return false;
  const bool amx_bf16 = leaf7_edx & (1u << 22);
  unsigned sub1_eax = 0, sub1_ebx = 0, sub1_ecx = 0, sub1_edx = 0;
  const bool avx512_bf16 = leaf7_eax >= 1 &&
                           __get_cpuid_count(7, 1, &sub1_eax, &sub1_ebx, &sub1_ecx, &sub1_edx) &&
                           (sub1_eax & (1u << 5));
  return (avx512_bf16 && avx512_state) || (amx_bf16 && amx_state);
#else
  return false;
#endif
}

}  // namespace tagclip
