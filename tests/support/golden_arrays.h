// Reads the <stem>.json + <stem>.bin golden pairs written by scripts/golden/golden_arrays.py.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace tagclip::testing {

class GoldenArrays {
 public:
  // `stem` without extension, e.g. data_path("golden/model_fidelity").
  explicit GoldenArrays(const std::string& stem);

  // The named array as a CPU tensor (float32 or int64). Throws if absent.
  at::Tensor array(const std::string& name) const;
  const nlohmann::json& scalars() const { return scalars_; }

 private:
  std::map<std::string, at::Tensor> arrays_;
  nlohmann::json scalars_;
};

// The deterministic stand-in image used by the golden scripts: [1, 3, H, W],
// 2 sin(0.05 (y+1)(c+1) + 0.07 x) + 0.1 c.
at::Tensor synthetic_image(int64_t height, int64_t width);

// Every `stride`-th entry of the flattened tensor (how the goldens sample attention maps).
at::Tensor every_nth(const at::Tensor& tensor, int64_t stride);

}  // namespace tagclip::testing
