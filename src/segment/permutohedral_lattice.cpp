#include "tagclip/segment/permutohedral_lattice.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

constexpr int kMaxDims = 16;
// Lattice coordinates are stored as int16, as pydensecrf's; keep a margin for the corner
// offsets (up to d + 1) and the neighbours' (d).
constexpr float kMaxKeyMagnitude = 32767.0f - 2 * (kMaxDims + 1);

// Round to nearest, ties to even, as SSE's cvtps2dq does in pydensecrf, for |v| < 2^22:
// adding 1.5 * 2^23 leaves no fraction bits. (std::nearbyint is a libm call that saves and
// restores the floating-point environment, six times per point.)
inline float round_to_even(float v) {
  constexpr float kShift = 12582912.0f;
  const float shifted = v + kShift;  // not folded: the build does not use -ffast-math
  return shifted - kShift;
}

// Open-addressing map from a lattice key (the first `dims` of its d + 1 integer coordinates;
// the last follows since they sum to zero) to a dense vertex index, in insertion order. Each
// slot keeps 32 bits of its key's hash beside the vertex, so a probe reads one cache line and
// compares keys only on a tag match (most neighbour look-ups find nothing).
class LatticeHashTable {
 public:
  LatticeHashTable(int dims, size_t expected) : dims_(dims) {
    size_t capacity = 64;
    while (capacity < 2 * expected) capacity *= 2;
    slots_.assign(capacity, Slot{});
    keys_.reserve(expected * dims);
  }

  int size() const { return size_; }
  const int16_t* key(int vertex) const { return &keys_[static_cast<size_t>(vertex) * dims_]; }

  // The vertex of `key` (whose hash() is `h`), inserted when absent and `create`; -1 when
  // absent otherwise.
  int find(const int16_t* key, uint64_t h, bool create) {
    if (create && 2 * static_cast<size_t>(size_ + 1) > slots_.size()) grow();
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    const size_t mask = slots_.size() - 1;
    for (size_t at = h & mask;; at = (at + 1) & mask) {
      Slot& slot = slots_[at];
      if (slot.vertex < 0) {
        if (!create) return -1;
        keys_.insert(keys_.end(), key, key + dims_);
        slot = Slot{size_, tag};
        return size_++;
      }
      if (slot.tag == tag && same_key(key, this->key(slot.vertex))) return slot.vertex;
    }
  }

  // Look-ups miss the cache mostly (the table is larger than L2): callers hash all the keys
  // they need, prefetch their slots, then find them, so the misses overlap.
  void prefetch(uint64_t h) const { __builtin_prefetch(&slots_[h & (slots_.size() - 1)]); }

  uint64_t hash(const int16_t* key) const {
    uint64_t h = 0;
    for (int i = 0; i < dims_; ++i) h = h * 0x100000001b3ull + static_cast<uint16_t>(key[i]);
    // MurmurHash3's finaliser: every key bit reaches the low bits the mask keeps.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
  }

 private:
  bool same_key(const int16_t* a, const int16_t* b) const {
    for (int i = 0; i < dims_; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  void grow() {
    slots_.assign(slots_.size() * 2, Slot{});
    const size_t mask = slots_.size() - 1;
    for (int vertex = 0; vertex < size_; ++vertex) {
      const uint64_t h = hash(key(vertex));
      size_t at = h & mask;
      while (slots_[at].vertex >= 0) at = (at + 1) & mask;
      slots_[at] = Slot{vertex, static_cast<uint32_t>(h >> 32)};
    }
  }

  struct Slot {
    int vertex = -1;
    uint32_t tag = 0;
  };
  int dims_;
  int size_ = 0;
  std::vector<Slot> slots_;
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
  int16_t keys[kMaxDims + 1][kMaxDims];
  uint64_t hashes[kMaxDims + 1];
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
      const float v = round_to_even(down * elevated[i]);
      rem0[i] = v * up;
      sum += v;
      if (!(std::abs(rem0[i]) <= kMaxKeyMagnitude)) {
        throw ShapeError("permutohedral lattice: point " + std::to_string(p) +
                         " has features too large for 16-bit lattice keys (pydensecrf's limit "
                         "too: a 1-pixel position kernel fits images up to about 10000 pixels)"
                         " or not finite");
      }
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
        keys[r][i] = static_cast<int16_t>(static_cast<int>(rem0[i]) + canonical[r][rank[i]]);
      }
      hashes[r] = table.hash(keys[r]);
      table.prefetch(hashes[r]);
    }
    for (int r = 0; r <= d; ++r) {
      const size_t at = static_cast<size_t>(p) * corners + r;
      corner_vertex_[at] = table.find(keys[r], hashes[r], true) + 1;
      corner_weight_[at] = barycentric[r];
    }
  }

  // Neighbours along axis j: key - 1 everywhere but key[j] + d, and the opposite.
  num_vertices_ = table.size();
  neighbours_.resize(static_cast<size_t>(corners) * num_vertices_ * 2);
  int16_t neighbour_keys[2 * (kMaxDims + 1)][kMaxDims];
  uint64_t neighbour_hashes[2 * (kMaxDims + 1)];
  for (int v = 0; v < num_vertices_; ++v) {
    const int16_t* k = table.key(v);
    for (int j = 0; j <= d; ++j) {
      int16_t* minus = neighbour_keys[2 * j];
      int16_t* plus = neighbour_keys[2 * j + 1];
      for (int i = 0; i < d; ++i) {
        minus[i] = static_cast<int16_t>(k[i] - 1);
        plus[i] = static_cast<int16_t>(k[i] + 1);
      }
      if (j < d) {
        minus[j] = static_cast<int16_t>(k[j] + d);
        plus[j] = static_cast<int16_t>(k[j] - d);
      }
    }
    for (int n = 0; n < 2 * corners; ++n) {
      neighbour_hashes[n] = table.hash(neighbour_keys[n]);
      table.prefetch(neighbour_hashes[n]);
    }
    for (int n = 0; n < 2 * corners; ++n) {
      const size_t at = (static_cast<size_t>(n / 2) * num_vertices_ + v) * 2 + n % 2;
      neighbours_[at] = table.find(neighbour_keys[n], neighbour_hashes[n], false) + 1;
    }
  }
}

void PermutohedralLattice::filter(const float* in, float* out, int value_size) const {
  if (value_size < 1) throw ShapeError("permutohedral lattice: value_size must be positive");
  if (value_size <= 2) {
    filter_scalar(in, out, value_size);
  } else {
    filter_blocks(in, out, value_size);
  }
}

// pydensecrf's seqCompute: float splat, blur added in double, slice as (w * value) * alpha.
void PermutohedralLattice::filter_scalar(const float* in, float* out, int value_size) const {
  const int corners = dims_ + 1;
  const size_t width = static_cast<size_t>(value_size);
  // [num_vertices + 1, value_size]; row 0 is the empty vertex.
  std::vector<float> values((num_vertices_ + 1) * width, 0.0f);
  std::vector<float> blurred((num_vertices_ + 1) * width, 0.0f);
  for (int p = 0; p < num_points_; ++p) {
    const int* vertex = &corner_vertex_[static_cast<size_t>(p) * corners];
    const float* weight = &corner_weight_[static_cast<size_t>(p) * corners];
    for (int r = 0; r < corners; ++r) {
      for (size_t k = 0; k < width; ++k)
        values[vertex[r] * width + k] += weight[r] * in[p * width + k];
    }
  }
  for (int j = 0; j <= dims_; ++j) {
    const int* axis = &neighbours_[static_cast<size_t>(j) * num_vertices_ * 2];
    for (int v = 0; v < num_vertices_; ++v) {
      for (size_t k = 0; k < width; ++k) {
        const float sum = values[axis[2 * v] * width + k] + values[axis[2 * v + 1] * width + k];
        blurred[(v + 1) * width + k] =
            static_cast<float>(values[(v + 1) * width + k] + 0.5 * static_cast<double>(sum));
      }
    }
    values.swap(blurred);
  }
  const float alpha = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-dims_)));
  for (int p = 0; p < num_points_; ++p) {
    const int* vertex = &corner_vertex_[static_cast<size_t>(p) * corners];
    const float* weight = &corner_weight_[static_cast<size_t>(p) * corners];
    for (size_t k = 0; k < width; ++k) {
      float sum = 0.0f;
      for (int r = 0; r < corners; ++r) sum += weight[r] * values[vertex[r] * width + k] * alpha;
      out[p * width + k] = sum;
    }
  }
}

namespace {

// One point's `width` values to and from blocks of four (the last padded with zeros), with
// fixed-size copies the compiler inlines (a memcpy call per point cost more than the copy).
void load_blocks(const float* values, size_t width, PermutohedralLattice::Float4* blocks) {
  size_t b = 0;
  for (; 4 * b + 4 <= width; ++b) std::memcpy(&blocks[b], values + 4 * b, sizeof(blocks[b]));
  // The tail built in registers: storing it lane by lane and loading it whole stalls on
  // store forwarding, at every point.
  const float* tail = values + 4 * b;
  switch (width - 4 * b) {
    case 1:
      blocks[b] = PermutohedralLattice::Float4{tail[0], 0.0f, 0.0f, 0.0f};
      break;
    case 2:
      blocks[b] = PermutohedralLattice::Float4{tail[0], tail[1], 0.0f, 0.0f};
      break;
    case 3:
      blocks[b] = PermutohedralLattice::Float4{tail[0], tail[1], tail[2], 0.0f};
      break;
    default:
      break;
  }
}

void store_blocks(const PermutohedralLattice::Float4* blocks, size_t width, float* values) {
  size_t b = 0;
  for (; 4 * b + 4 <= width; ++b) std::memcpy(values + 4 * b, &blocks[b], sizeof(blocks[b]));
  if (4 * b < width) {
    float tail[4];
    std::memcpy(tail, &blocks[b], sizeof(tail));
    for (size_t k = 4 * b; k < width; ++k) values[k] = tail[k - 4 * b];
  }
}

}  // namespace

// pydensecrf's sseCompute: values in blocks of four floats, slice as (w * alpha) * value.
void PermutohedralLattice::filter_blocks(const float* in, float* out, int value_size) const {
  const int corners = dims_ + 1;
  const size_t width = static_cast<size_t>(value_size);
  const size_t blocks = (width + 3) / 4;
  const size_t rows = static_cast<size_t>(num_vertices_) + 1;
  // [num_vertices + 1, blocks]; row 0 is the empty vertex and stays zero.
  values_.assign(rows * blocks, Float4{});
  blurred_.resize(rows * blocks);
  std::fill(blurred_.begin(), blurred_.begin() + blocks, Float4{});
  std::vector<Float4> point(blocks, Float4{});

  // Splat.
  for (int p = 0; p < num_points_; ++p) {
    load_blocks(in + p * width, width, point.data());
    const int* vertex = &corner_vertex_[static_cast<size_t>(p) * corners];
    const float* weight = &corner_weight_[static_cast<size_t>(p) * corners];
    for (int r = 0; r < corners; ++r) {
      Float4* target = &values_[vertex[r] * blocks];
      const float w = weight[r];
      for (size_t b = 0; b < blocks; ++b) target[b] += w * point[b];
    }
  }

  // Blur along each axis with [1/2, 1, 1/2].
  for (int j = 0; j <= dims_; ++j) {
    const int* axis = &neighbours_[static_cast<size_t>(j) * num_vertices_ * 2];
    for (int v = 0; v < num_vertices_; ++v) {
      const Float4* centre = &values_[(v + 1) * blocks];
      const Float4* n1 = &values_[axis[2 * v] * blocks];
      const Float4* n2 = &values_[axis[2 * v + 1] * blocks];
      Float4* target = &blurred_[(v + 1) * blocks];
      for (size_t b = 0; b < blocks; ++b) target[b] = centre[b] + 0.5f * (n1[b] + n2[b]);
    }
    values_.swap(blurred_);
  }

  // Slice, with Adams' constant 1 / (1 + 2^-d).
  const float alpha = 1.0f / (1.0f + std::pow(2.0f, static_cast<float>(-dims_)));
  for (int p = 0; p < num_points_; ++p) {
    std::fill(point.begin(), point.end(), Float4{});
    const int* vertex = &corner_vertex_[static_cast<size_t>(p) * corners];
    const float* weight = &corner_weight_[static_cast<size_t>(p) * corners];
    for (int r = 0; r < corners; ++r) {
      const Float4* source = &values_[vertex[r] * blocks];
      const float w = weight[r] * alpha;
      for (size_t b = 0; b < blocks; ++b) point[b] += w * source[b];
    }
    store_blocks(point.data(), width, out + p * width);
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
