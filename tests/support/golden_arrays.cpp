#include "golden_arrays.h"

#include <fstream>
#include <stdexcept>
#include <vector>

namespace tagclip::testing {

GoldenArrays::GoldenArrays(const std::string& stem) {
  std::ifstream manifest_file(stem + ".json");
  if (!manifest_file) throw std::runtime_error("cannot open golden manifest " + stem + ".json");
  const nlohmann::json manifest = nlohmann::json::parse(manifest_file);
  std::ifstream blob(stem + ".bin", std::ios::binary);
  if (!blob) throw std::runtime_error("cannot open golden data " + stem + ".bin");
  scalars_ = manifest.value("scalars", nlohmann::json::object());
  for (const auto& entry : manifest.at("arrays")) {
    const std::string dtype = entry.at("dtype");
    std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
    const at::ScalarType type = dtype == "int64" ? at::kLong : at::kFloat;
    at::Tensor tensor = at::empty(shape, type);
    blob.seekg(entry.at("offset").get<std::streamoff>());
    blob.read(static_cast<char*>(tensor.data_ptr()), entry.at("bytes").get<std::streamsize>());
    if (!blob) throw std::runtime_error("golden data " + stem + ".bin is truncated");
    arrays_[entry.at("name")] = tensor;
  }
}

at::Tensor GoldenArrays::array(const std::string& name) const {
  const auto it = arrays_.find(name);
  if (it == arrays_.end()) throw std::runtime_error("no golden array named " + name);
  return it->second;
}

at::Tensor synthetic_image(int64_t height, int64_t width) {
  const at::Tensor c = at::arange(3, at::kDouble).view({3, 1, 1});
  const at::Tensor y = at::arange(height, at::kDouble).view({1, height, 1});
  const at::Tensor x = at::arange(width, at::kDouble).view({1, 1, width});
  const at::Tensor values = 2.0 * at::sin(0.05 * (y + 1.0) * (c + 1.0) + 0.07 * x) + 0.1 * c;
  return values.to(at::kFloat).unsqueeze(0);
}

at::Tensor every_nth(const at::Tensor& tensor, int64_t stride) {
  return tensor.contiguous().view(-1).slice(0, 0, c10::nullopt, stride);
}

}  // namespace tagclip::testing
