// The matrix products of the CLIP towers, routed to the fastest kernels this LibTorch has.
//
// Debian's LibTorch 1.13 sends float32 products to OpenBLAS, which on CPUs it does not
// recognise (Sapphire Rapids here: `OPENBLAS_VERBOSE=2` prints `Core: Prescott`) runs its
// generic kernels, about 30 GFLOP/s on two cores. oneDNN, linked into the same LibTorch,
// picks its kernels from the CPU's own flags: about 160 GFLOP/s in float32 and, with
// AVX-512 BF16 or AMX, 500 or more in bfloat16. Both compute float32 products in float32;
// only the order of the sums differs (results agree to about 1e-6 relative).
#pragma once

#include <ATen/ATen.h>

namespace tagclip {

// x [..., in] -> [..., out] = x weight^T + bias, the product in weight's dtype (float32, or
// bfloat16 / float16 for a lower --precision), the bias added and the result returned in
// x's dtype. bias: [out] or undefined.
at::Tensor linear_in_weight_dtype(const at::Tensor& x, const at::Tensor& weight,
                                  const at::Tensor& bias);

// a [..., M, K], b [..., N, K] with equal leading dims -> [..., M, N] = a b^T, in a's dtype.
at::Tensor matmul_transposed(const at::Tensor& a, const at::Tensor& b);

// oneDNN is used for float32 CPU products that autograd does not record, when LibTorch has
// it; off sends every product to at::linear / at::matmul (tests compare the two paths,
// benchmarks time them). Process-wide; on by default.
void set_onednn_float32_matmul(bool enabled);
bool onednn_float32_matmul();

}  // namespace tagclip
