// Fast high-dimensional Gaussian filtering on the permutohedral lattice (Adams, Baek and Davis,
// Eurographics 2010), the filter behind Krähenbühl and Koltun's dense CRF (NIPS 2011) and so
// behind pydensecrf, which the reference's eval_cam_with_crf.py calls. Arithmetic follows
// pydensecrf's densecrf/src/permutohedral.cpp (its SSE build, as pip builds it on x86-64), so
// filtered values agree with it to float rounding.
#pragma once

#include <vector>

namespace tagclip {

// A linear filter over points: out_i = sum_j k(i, j) in_j, applied to every value channel.
// The dense CRF's mean field only needs this; the tests give it an exact O(N^2) version.
class GaussianFilter {
 public:
  virtual ~GaussianFilter() = default;
  virtual int num_points() const = 0;
  // in, out: [num_points, value_size] row-major (one point's values contiguous). They may be
  // the same array (the dense CRF filters in place), but must not partly overlap.
  virtual void filter(const float* in, float* out, int value_size) const = 0;
};

// The lattice built once for a set of feature vectors (already divided by the kernel's
// standard deviations); filter() then approximates, up to one constant factor per lattice,
//   out_i = sum_j exp(-|f_i - f_j|^2 / 2) in_j     (the point itself included)
// in O(N (d + 1) value_size) per call: splat each point onto the d + 1 vertices of its
// enclosing simplex, blur along the d + 1 lattice axes with [1/2, 1, 1/2], slice back.
class PermutohedralLattice : public GaussianFilter {
 public:
  // features: [num_points, dims] row-major. Throws ShapeError when its size is not
  // num_points * dims or dims is not in 1..16 (lattice keys are 16-bit, as pydensecrf's).
  PermutohedralLattice(const std::vector<float>& features, int num_points, int dims);

  int num_points() const override { return num_points_; }
  int dims() const { return dims_; }
  // Lattice vertices that some point splats onto (pydensecrf's M_).
  int num_vertices() const { return num_vertices_; }

  // See GaussianFilter. value_size <= 2 uses pydensecrf's scalar rounding order (it takes
  // that path for narrow values, e.g. the normalisation's filter of ones), wider values its
  // SSE order, four values at a time; the two differ only in float rounding. Reuses buffers
  // of the lattice: do not call it on one lattice from two threads at once.
  void filter(const float* in, float* out, int value_size) const override;
  std::vector<float> filter(const std::vector<float>& in, int value_size) const;

  // Four floats, one SSE register (GCC and Clang vector extension).
  using Float4 = float __attribute__((vector_size(16)));

 private:
  int num_points_ = 0;
  int dims_ = 0;
  int num_vertices_ = 0;
  // [num_points, dims + 1]: vertex of each simplex corner, plus one (slot 0 is an empty
  // vertex that stays zero, standing in for neighbours no point splats onto).
  std::vector<int> corner_vertex_;
  // [num_points, dims + 1]: the point's barycentric weight on each corner.
  std::vector<float> corner_weight_;
  // [dims + 1, num_vertices, 2]: the two neighbours (plus one, 0 when absent) of each vertex
  // along each lattice axis.
  std::vector<int> neighbours_;
  // Filter workspace, [num_vertices + 1, ceil(value_size / 4)] blocks of four floats each.
  mutable std::vector<Float4> values_;
  mutable std::vector<Float4> blurred_;
  void filter_scalar(const float* in, float* out, int value_size) const;
  void filter_blocks(const float* in, float* out, int value_size) const;
};

}  // namespace tagclip
