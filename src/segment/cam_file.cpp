#include "tagclip/segment/cam_file.h"

#include <cstring>
#include <opencv2/core.hpp>

#include "tagclip/core/atomic_file.h"
#include "tagclip/errors.h"
#include "tagclip/segment/npz.h"

namespace tagclip {
namespace {

// [K * H * W] floats as float16 bytes (round to nearest even, as numpy's astype).
std::string half_bytes(const std::vector<float>& values) {
  std::string bytes(values.size() * 2, '\0');
  for (size_t k = 0; k < values.size(); ++k) {
    const uint16_t bits = cv::float16_t(values[k]).bits();
    std::memcpy(&bytes[2 * k], &bits, 2);
  }
  return bytes;
}

std::vector<float> floats_of(const NpyArray& array) {
  const size_t count = static_cast<size_t>(npy_element_count(array.shape));
  std::vector<float> values(count);
  if (array.descr == "<f2") {
    for (size_t k = 0; k < count; ++k) {
      uint16_t bits;
      std::memcpy(&bits, &array.bytes[2 * k], 2);
      values[k] = static_cast<float>(cv::float16_t::fromBits(bits));
    }
  } else {
    std::memcpy(values.data(), array.bytes.data(), 4 * count);
  }
  return values;
}

const NpyArray* find_array(const std::vector<NpyArray>& arrays, const std::string& name) {
  for (const NpyArray& array : arrays)
    if (array.name == name) return &array;
  return nullptr;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
  return text + "]";
}

}  // namespace

std::string encode_cam_file(const ClassCams& cams) {
  const int64_t K = static_cast<int64_t>(cams.keys.size());
  const size_t expected = static_cast<size_t>(K) * cams.height * cams.width;
  if (cams.height < 0 || cams.width < 0 || cams.attn_highres.size() != expected ||
      (!cams.highres.empty() && cams.highres.size() != expected))
    throw ShapeError(
        "CAM file: attn_highres and highres must hold K * H * W = " + std::to_string(K) + " * " +
        std::to_string(cams.height) + " * " + std::to_string(cams.width) + " values, got " +
        std::to_string(cams.attn_highres.size()) + " and " + std::to_string(cams.highres.size()));
  std::vector<NpyArray> arrays;
  std::string key_bytes(cams.keys.size() * 8, '\0');
  if (!cams.keys.empty()) std::memcpy(key_bytes.data(), cams.keys.data(), key_bytes.size());
  arrays.push_back({"keys", "<i8", {K}, key_bytes});
  const std::vector<int64_t> shape = {K, cams.height, cams.width};
  arrays.push_back({"attn_highres", "<f2", shape, half_bytes(cams.attn_highres)});
  if (!cams.highres.empty()) arrays.push_back({"highres", "<f2", shape, half_bytes(cams.highres)});
  return encode_npz(arrays);
}

void write_cam_file(const std::string& path, const ClassCams& cams) {
  write_file_atomically(path, encode_cam_file(cams));
}

ClassCams read_cam_file(const std::string& path, bool need_highres) {
  const std::vector<NpyArray> arrays = read_npz(path);
  auto require = [&](const std::string& name) -> const NpyArray& {
    const NpyArray* array = find_array(arrays, name);
    if (array == nullptr) throw Error(path + ": CAM file has no array '" + name + "'");
    return *array;
  };
  ClassCams cams;
  const NpyArray& keys = require("keys");
  if (keys.shape.size() != 1 || (keys.descr != "<i8" && keys.descr != "<i4"))
    throw Error(path + ": array 'keys' must be int64 [K], got '" + keys.descr + "' " +
                shape_text(keys.shape));
  cams.keys.resize(static_cast<size_t>(keys.shape[0]));
  for (size_t k = 0; k < cams.keys.size(); ++k) {
    if (keys.descr == "<i8") {
      std::memcpy(&cams.keys[k], &keys.bytes[8 * k], 8);
    } else {
      int32_t key;
      std::memcpy(&key, &keys.bytes[4 * k], 4);
      cams.keys[k] = key;
    }
  }

  auto read_maps = [&](const NpyArray& maps) {
    if (maps.descr != "<f2" && maps.descr != "<f4")
      throw Error(path + ": array '" + maps.name + "' must be float16 (or float32), got '" +
                  maps.descr + "'");
    if (maps.shape.size() != 3 || maps.shape[0] != static_cast<int64_t>(cams.keys.size()))
      throw Error(path + ": array '" + maps.name + "' must be [K, H, W] with K = " +
                  std::to_string(cams.keys.size()) + " keys, got " + shape_text(maps.shape));
    return floats_of(maps);
  };
  const NpyArray& attn = require("attn_highres");
  cams.attn_highres = read_maps(attn);
  cams.height = static_cast<int>(attn.shape[1]);
  cams.width = static_cast<int>(attn.shape[2]);
  cams.float16 = attn.descr == "<f2";
  if (need_highres) {
    const NpyArray& highres = require("highres");
    if (highres.shape != attn.shape)
      throw Error(path + ": array 'highres' is " + shape_text(highres.shape) + ", 'attn_highres' " +
                  shape_text(attn.shape));
    cams.highres = read_maps(highres);
    if ((highres.descr == "<f2") != cams.float16)
      throw Error(path + ": 'highres' and 'attn_highres' have different dtypes");
  }
  return cams;
}

}  // namespace tagclip
