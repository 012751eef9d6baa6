#include "tagclip/model/matmul.h"

#include <ATen/Context.h>
#include <c10/core/GradMode.h>

#include <atomic>

namespace tagclip {
namespace {

std::atomic<bool> onednn_enabled{true};

bool records_gradient(const at::Tensor& t) {
  return t.defined() && t.requires_grad() && at::GradMode::is_enabled();
}

// float32 on the CPU, nothing for autograd to record (oneDNN's layout conversions are not
// differentiated here; Grad-CAM's last block takes the ATen path).
bool onednn_takes(const at::Tensor& a, const at::Tensor& b) {
  return onednn_enabled.load(std::memory_order_relaxed) && at::hasMKLDNN() && a.device().is_cpu() &&
         b.device().is_cpu() && a.scalar_type() == at::kFloat && b.scalar_type() == at::kFloat &&
         !records_gradient(a) && !records_gradient(b);
}

// x [M, K], weight [N, K] -> [M, N] through oneDNN.
at::Tensor onednn_linear_2d(const at::Tensor& x, const at::Tensor& weight,
                            const c10::optional<at::Tensor>& bias) {
  return at::mkldnn_linear(x.contiguous().to_mkldnn(), weight.contiguous(), bias).to_dense();
}

}  // namespace

void set_onednn_float32_matmul(bool enabled) { onednn_enabled.store(enabled); }
bool onednn_float32_matmul() { return onednn_enabled.load(); }

at::Tensor linear_in_weight_dtype(const at::Tensor& x, const at::Tensor& weight,
                                  const at::Tensor& bias) {
  const at::Tensor input = x.scalar_type() == weight.scalar_type() ? x : x.to(weight.dtype());
  if (onednn_takes(input, weight)) {
    const int64_t in = input.size(-1);
    std::vector<int64_t> out_shape = input.sizes().vec();
    out_shape.back() = weight.size(0);
    const c10::optional<at::Tensor> fused_bias = bias.defined() && bias.scalar_type() == at::kFloat
                                                     ? c10::optional<at::Tensor>(bias)
                                                     : c10::nullopt;
    at::Tensor y = onednn_linear_2d(input.reshape({-1, in}), weight, fused_bias).view(out_shape);
    if (bias.defined() && !fused_bias) y = y + bias;
    return y.to(x.scalar_type());
  }
  if (input.scalar_type() == x.scalar_type() && (!bias.defined() || bias.dtype() == x.dtype()))
    return at::linear(input, weight, bias);
  // Lower precision: the product in the weight's dtype, the bias added in x's.
  at::Tensor y = at::linear(input, weight).to(x.scalar_type());
  return bias.defined() ? y + bias.to(x.scalar_type()) : y;
}

at::Tensor matmul_transposed(const at::Tensor& a, const at::Tensor& b) {
  // Each oneDNN call costs about 85 us of set-up here, more than a one-row product (the
  // class token's query) takes in OpenBLAS's batched kernel.
  constexpr int64_t kFewestOnednnRows = 16;
  if (!onednn_takes(a, b) || a.dim() < 2 || a.size(-2) < kFewestOnednnRows)
    return at::matmul(a, b.transpose(-2, -1));
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-2);
  // One oneDNN product per matrix of the batch: [prod(...), M, K] x [prod(...), N, K].
  const at::Tensor a3 = a.reshape({-1, m, k});
  const at::Tensor b3 = b.reshape({-1, n, k});
  std::vector<int64_t> out_shape = a.sizes().vec();
  out_shape.back() = n;
  at::Tensor out = at::empty({a3.size(0), m, n}, a.options());
  for (int64_t i = 0; i < a3.size(0); ++i)
    out[i].copy_(onednn_linear_2d(a3[i], b3[i], c10::nullopt));
  return out.view(out_shape);
}

}  // namespace tagclip
