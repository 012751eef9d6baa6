// A loaded CLIP ViT: read-only weights of both towers on one device.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <string>

#include "tagclip/model/checkpoint_layouts.h"
#include "tagclip/model/clip_architecture.h"
#include "tagclip/model/precision.h"
#include "tagclip/model/text_tower.h"
#include "tagclip/model/vision_tower.h"

namespace tagclip {

struct ModelOptions {
  std::string device = "cpu";         // cpu, cuda, cuda:N
  at::ScalarType dtype = at::kFloat;  // compute dtype; stored fp16 weights are widened
  // The vision tower's matrix products (model/precision.h); the text tower keeps `dtype`.
  Precision precision = Precision::kFloat32;
};

class ClipModel {
 public:
  // Reads the checkpoint in any layout of model/checkpoint_layouts.h, infers the
  // architecture and moves the weights to the device.
  // Throws ModelError (file and tensor named) or UsageError (device).
  static std::shared_ptr<const ClipModel> load(const std::string& path,
                                               const ModelOptions& options = {});

  const ClipArchitecture& architecture() const { return arch_; }
  const VisionTower& vision() const { return *vision_; }
  const TextTower& text() const { return *text_; }
  // exp(logit_scale): the factor applied to cosine similarities (100 for released models).
  double logit_scale() const { return logit_scale_; }
  c10::Device device() const { return device_; }
  Precision precision() const { return precision_; }
  const std::string& path() const { return path_; }
  // The layout, the files read and how the architecture was recognised.
  const CheckpointSource& source() const { return source_; }
  // weights_fingerprint() of the checkpoint as read (checkpoint.h), with "+vision-gelu",
  // "+text-heads-N" and the like where the activation or heads are not OpenAI's.
  const std::string& weights_fingerprint() const { return fingerprint_; }
  // Options of tensors fed to this model (compute dtype, device).
  at::TensorOptions tensor_options() const {
    return at::TensorOptions().dtype(dtype_).device(device_);
  }

 private:
  ClipModel() = default;
  std::string path_;
  CheckpointSource source_;
  std::string fingerprint_;
  ClipArchitecture arch_;
  c10::Device device_{c10::kCPU};
  at::ScalarType dtype_ = at::kFloat;
  Precision precision_ = Precision::kFloat32;
  double logit_scale_ = 0.0;
  std::unique_ptr<VisionTower> vision_;
  std::unique_ptr<TextTower> text_;
};

}  // namespace tagclip
