#include "tagclip/model/clip_model.h"

#include <cmath>

#include "tagclip/model/checkpoint.h"
#include "tagclip/model/device.h"

namespace tagclip {

std::shared_ptr<const ClipModel> ClipModel::load(const std::string& path,
                                                 const ModelOptions& options) {
  const c10::Device device = parse_device(options.device);
  const StateDict state = load_state_dict(path);
  std::shared_ptr<ClipModel> model(new ClipModel());
  model->path_ = path;
  model->arch_ = infer_architecture(state, path);
  model->device_ = device;
  model->dtype_ = options.dtype;
  const at::TensorOptions tensor_options = at::TensorOptions().dtype(options.dtype).device(device);
  model->vision_ = std::make_unique<VisionTower>(state, model->arch_, tensor_options);
  model->text_ = std::make_unique<TextTower>(state, model->arch_, tensor_options);
  model->logit_scale_ = std::exp(state.at("logit_scale").to(at::kDouble).item<double>());
  return model;
}

}  // namespace tagclip
