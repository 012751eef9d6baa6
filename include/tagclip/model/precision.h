// --precision: the dtype of the vision tower's attention output projection and MLP (two
// thirds of its work at VOC sizes).
//   fp32  the faithful mode (default); scores within 1e-4 of the authors' code.
//   bf16  bfloat16 products for CPUs with AVX-512 BF16 or AMX (and CUDA GPUs).
//   fp16  float16 products, for CUDA only: LibTorch 1.13 has no float16 products on the CPU.
// In every mode LayerNorm, the q, k, v projection, the two attention products, softmax,
// the residual stream, the attention maps DMAR reads, the text tower (so the embedding
// cache) and the score arithmetic stay in float32. With the q, k, v projection in bfloat16
// too, 21 of 25 photos kept their VOC tag sets on a random ViT-B/16 (largest score
// difference 1.25e-2); in float32, 25 of 25 (4.9e-3): q and k feed the attention logits.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>

namespace tagclip {

enum class Precision { kFloat32, kBFloat16, kFloat16 };

// "fp32", "bf16" or "fp16"; throws UsageError naming the value otherwise.
Precision parse_precision(const std::string& name);
std::string to_string(Precision precision);

// The linear weights' dtype for `precision`; nullopt for fp32 (the model's own dtype).
std::optional<at::ScalarType> product_dtype(Precision precision);

// Throws UsageError when `precision` cannot run on `device` (fp16 on the CPU).
void check_precision_on(Precision precision, const c10::Device& device);

// Whether this CPU computes bfloat16 products in hardware (AVX-512 BF16 or AMX); without
// either, oneDNN emulates them and bf16 is slower than fp32.
bool cpu_has_native_bfloat16();

}  // namespace tagclip
