#include "tagclip/segment/permutohedral_lattice.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

constexpr int kMaxDims = 16;

// Open-addressing map from a lattice key (the first `dims` of its d + 1 integer coordinates;
// the last follows since they sum to zero) to a dense vertex index, in insertion order.
class LatticeHashTable {
 public:
  LatticeHashTable(int dims, size_t expected) : dims_(dims) {
    size_t capacity = 64;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.assign(capacity, -1);
    keys_.reserve(expected * dims);
  }

  int size() const { return static_cast<int>(keys_.size() / dims_); }
  const int16_t* key(int vertex) const { return &keys_[static_cast<size_t>(vertex) * dims_]; }

  // The vertex of `key`, inserted when absent and `create`; -1 when absent otherwise.
  int find(const int16_t* key, bool create) {
    if (create && 2 * static_cast<size_t>(size() + 1) > slots_.size()) grow();
    const size_t mask = slots_.size() - 1;
    for (size_t slot = hash(key) & mask;; slot = (slot + 1) & mask) {
      const int vertex = slots_[slot];
      if (vertex < 0) {
        if (!create) return -1;
        keys_.insert(keys_.end(), key, key + dims_);
        return slots_[slot] = size() - 1;
      }
      if (std::equal(key, key + dims_, this->key(vertex))) return vertex;
    }
  }

 private:
  size_t hash(const int16_t* key) const {
    size_t h = 0;
    for (int i = 0; i < dims_; ++i) h = (h + static_cast<size_t>(key[i])) * 2654435761u;
    return h ^ (h >> 17);
  }

  void grow() {
    slots_.assign(slots_.size() * 2, -1);
    const size_t mask = slots_.size() - 1;
    for (int vertex = 0; vertex < size(); ++vertex) {
      size_t slot = hash(key(vertex)) & mask;
      while (slots_[slot] >= 0) slot = (slot + 1) & mask;
      slots_[slot] = vertex;
    }
  }

  int dims_;
  std::vector<int> slots_;
  std::vector<int16_t> keys_;
};

}  // namespace

PermutohedralLattice::PermutohedralLattice(const std::vector<float>& features, int num_points,
                                           int dims)
    : num_points_(num_points), dims_(dims) {
  if (dims < 1 || dims > kMaxDims || num_points < 0 ||
      features.size() != static_cast<size_t>(num_points) * dims) {
    throw ShapeError("permutohedral lattice: features hold " + std::to_string(features.size()) +
                     " values, expected [" + std::to_string(num_points) + ", " +
                     std::to_string(dims) + "] with 1 <= dims <= " + std::to_string(kMaxDims));
  }
  const int d = dims;
  const int corners = d + 1;
  corner_vertex_.resize(static_cast<size_t>(num_points) * corners);
  corner_weight_.resize(static_cast<size_t>(num_points) * corners);
  LatticeHashTable table(d, static_cast<size_t>(num_points));

  // The canonical simplex: corner r has coordinates r (first d + 1 - r) and r - (d + 1).
  int canonical[kMaxDims + 1][kMaxDims + 1];
  for (int r = 0; r <= d; ++r) {
    for (int j = 0; j <= d - r; ++j) canonical[r][j] = r;
    for (int j = d - r + 1; j <= d; ++j) canonical[r][j] = r - corners;
  }
  // Diagonal of the elevation matrix E, scaled so the blur has the expected standard
  // deviation (Adams et al. 2010, pp. 5-6); double then float, as pydensecrf computes it.
  const float inv_std_dev = static_cast<float>(std::sqrt(2.0 / 3.0) * corners);
  float scale[kMaxDims];
  for (int i = 0; i < d; ++i) {
    scale[i] = static_cast<float>(1.0 / std::sqrt(static_cast<double>((i + 2) * (i + 1))) *
                                  static_cast<double>(inv_std_dev));
  }
  const float down = 1.0f / static_cast<float>(corners);
  const float up = static_cast<float>(corners);

  float elevated[kMaxDims + 1];
  float rem0[kMaxDims + 1];
  int rank[kMaxDims + 1];
  float barycentric[kMaxDims + 2];
  int16_t key[kMaxDims];
  for (int p = 0; p < num_points; ++p) {
    const float* f = &features[static_cast<size_t>(p) * d];
    // Elevate onto the plane sum(x) = 0 of R^(d+1).
    float partial = 0.0f;
    for (int j = d; j > 0; --j) {
      const float cf = f[j - 1] * scale[j - 1];
      elevated[j] = partial - static_cast<float>(j) * cf;
      partial += cf;
    }
    elevated[0] = partial;
    // Nearest point of the (d+1)-scaled integer lattice, coordinate by coordinate (ties to
    // even, as SSE's conversion rounds); `sum` says how far off the plane that lands.
    float sum = 0.0f;
    for (int i = 0; i <= d; ++i) {
      const float v = std::nearbyint(down * elevated[i]);
      rem0[i] = v * up;
      sum += v;
    }
    // Rank of each coordinate's remainder: the permutation naming the enclosing simplex.
    std::fill(rank, rank + corners, 0);
    for (int i = 0; i < d; ++i) {
      const float di = elevated[i] - rem0[i];
      for (int j = i + 1; j <= d; ++j) {
        if (di < elevated[j] - rem0[j]) {
          ++rank[i];
        } else {
          ++rank[j];
        }
      }
    }
    const int shift = static_cast<int>(sum);
    for (int i = 0; i <= d; ++i) {
      rank[i] += shift;
      if (rank[i] < 0) {
        rank[i] += corners;
        rem0[i] += up;
      } else if (rank[i] >= corners) {
        rank[i] -= corners;
        rem0[i] -= up;
      }
    }
    // Barycentric coordinates (p. 10).
    std::fill(barycentric, barycentric + d + 2, 0.0f);
    for (int i = 0; i <= d; ++i) {
      const float v = (elevated[i] - rem0[i]) * down;
      barycentric[d - rank[i]] += v;
      barycentric[d - rank[i] + 1] -= v;
    }
    barycentric[0] += 1.0f + barycentric[d + 1];
    // The simplex's corners as lattice vertices.
    for (int r = 0; r <= d; ++r) {
      for (int i = 0; i < d; ++i) {
        key[i] = static_cast<int16_t>(static_cast<int>(rem0[i]) + canonical[r][rank[i]]);
      }
      const size_t at = static_cast<size_t>(p) * corners + r;
      corner_vertex_[at] = table.find(key, true) + 1;
      corner_weight_[at] = barycentric[r];
    }
  }

  // Neighbours along axis j: key - 1 everywhere but key[j] + d, and the opposite.
  num_vertices_ = table.size();
  neighbours_.resize(static_cast<size_t>(corners) * num_vertices_ * 2);
  int16_t minus[kMaxDims + 1];
  int16_t plus[kMaxDims + 1];
  for (int j = 0; j <= d; ++j) {
    for (int v = 0; v < num_vertices_; ++v) {
      const int16_t* k = table.key(v);
      for (int i = 0; i < d; ++i) {
        minus[i] = static_cast<int16_t>(k[i] - 1);
        plus[i] = static_cast<int16_t>(k[i] + 1);
      }
      if (j < d) {
        minus[j] = static_cast<int16_t>(k[j] + d);
        plus[j] = static_cast<int16_t>(k[j] - d);
      }
      const size_t at = (static_cast<size_t>(j) * num_vertices_ + v) * 2;
      neighbours_[at] = table.find(minus, false) + 1;
      neighbours_[at + 1] = table.find(plus, false) + 1;
    }
  }
}

void PermutohedralLattice::filter(const float* in, float* out, int value_size) const {
  if (value_size < 1) throw ShapeError("permutohedral lattice: value_size must be positive");
  const int corners = dims_ + 1;
  const size_t width = static_cast<size_t>(value_size);
  // [num_vertices + 1, value_size]; row 0 is the empty vertex.
  std::vector<float> values((num_vertices_ + 1) * width, 0.0f);
  std::vector<float> blurred((num_vertices_ + 1) * width, 0.0f);

  // Splat.
  for (int p = 0; p < num_points_; ++p) {
    const float* point_values = in + p * width;
    const int* vertex = &corner_vertex_[static_cast<size_t>(p) * corners];
    const float* weight = &corner_weight_[static_cast<size_t>(p) * corners];
    for (int r = 0; r < corners; ++r) {
      float* target = &values[vertex[r] * width];
      const float w = weight[r];
      for (size_t k = 0; k < width; ++k) target[k] += w * point_values[k];
    }
  }

  // Blur along each axis with [1/2, 1, 1/2]. pydensecrf's scalar path (value_size <= 2)
  // adds in double; its SSE path in float.
  const bool scalar_path = value_size <= 2;
  for (int j = 0; j <= dims_; ++j) {
    const int* axis = &neighbours_[static_cast<size_t>(j) * num_vertices_ * 2];
    for (int v = 0; v < num_vertices_; ++v) {
      const float* centre = &values[(v + 1) * width];
      const float* n1 = &values[axis[2 * v] * width];
      const float* n2 = &values[axis[2 * v + 1] * width];
      float* target = &blurred[(v + 1) * width];
      if (scalar_path) {
        for (size_t k = 0; k < width; ++k) {
          target[k] = static_cast<float>(centre[k] + 0.5 * static_cast<double>(n1[k] + n2[k]));
        }
      } else {
        for (size_t k = 0; k < width; ++k) target[k] = centre[k] + 0.5f * (n1[k] + n2[k]);
      }
    }
    values.swap(blurred);
  }

  // Slice, with Adams' constant 1 / (1 + 2^-d).
  const float alpha = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-dims_)));
  for (int p = 0; p < num_points_; ++p) {
    float* point_out = out + p * width;
    std::fill(point_out, point_out + width, 0.0f);
    const int* vertex = &corner_vertex_[static_cast<size_t>(p) * corners];
    const float* weight = &corner_weight_[static_cast<size_t>(p) * corners];
    for (int r = 0; r < corners; ++r) {
      const float* source = &values[vertex[r] * width];
      if (scalar_path) {
        const float w = weight[r];
        for (size_t k = 0; k < width; ++k) point_out[k] += w * source[k] * alpha;
      } else {
        const float w = weight[r] * alpha;
        for (size_t k = 0; k < width; ++k) point_out[k] += w * source[k];
      }
    }
  }
}

std::vector<float> PermutohedralLattice::filter(const std::vector<float>& in,
                                                int value_size) const {
  if (value_size < 1 || in.size() != static_cast<size_t>(num_points_) * value_size) {
    throw ShapeError("permutohedral lattice: values hold " + std::to_string(in.size()) +
                     " floats, expected [" + std::to_string(num_points_) + ", " +
                     std::to_string(value_size) + "]");
  }
  std::vector<float> out(in.size());
  filter(in.data(), out.data(), value_size);
  return out;
}

}  // namespace tagclip
