// NumPy's .npz container (a zip of .npy files), so CAM files open with a plain
// `numpy.load(f)` (no pickle) and numpy's own npz files open here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tagclip {

// One array of an npz file: `name` is the key numpy.load gives it ("keys", not
// "keys.npy"); `descr` numpy's dtype string ('<i8', '<f2', '<f4', '<i4', '|u1'); `shape` its
// dimensions in C order; `bytes` the little-endian elements, prod(shape) * itemsize bytes.
struct NpyArray {
  std::string name;
  std::string descr;
  std::vector<int64_t> shape;
  std::string bytes;
};

// Bytes of one element of `descr`, or 0 for a dtype this reader does not handle.
int npy_item_size(const std::string& descr);

// The number of elements of `shape` (1 for a 0-d array).
int64_t npy_element_count(const std::vector<int64_t>& shape);

// The .npy file (format 1.0, 64-byte aligned header) of one array. Throws ShapeError when
// `bytes` does not hold prod(shape) elements of `descr`, or `descr` is not handled.
std::string encode_npy(const NpyArray& array);

// An npz file holding `arrays` in order, as numpy.savez writes it: stored (uncompressed)
// zip entries named <name>.npy, each with its CRC-32. Throws ShapeError like encode_npy,
// Error for an archive past the 4 GiB a zip without zip64 records can hold.
std::string encode_npz(const std::vector<NpyArray>& arrays);

// The arrays of an npz file in archive order, from stored or deflated entries
// (numpy.savez and numpy.savez_compressed), npy format 1.0, 2.0 or 3.0, C order, the dtypes
// above. `source` names the file in errors. Throws Error naming the file (and the key) on
// a damaged archive, a CRC mismatch, Fortran order, another dtype or a size mismatch.
std::vector<NpyArray> decode_npz(const std::string& bytes, const std::string& source);

// decode_npz of the file at `path`; Error naming the file when it cannot be read.
std::vector<NpyArray> read_npz(const std::string& path);

}  // namespace tagclip
