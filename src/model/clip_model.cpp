#include "tagclip/model/clip_model.h"

#include <cmath>

#include "tagclip/core/log.h"
#include "tagclip/model/checkpoint.h"
#include "tagclip/model/cuda_support.h"
#include "tagclip/model/device.h"

namespace tagclip {

std::shared_ptr<const ClipModel> ClipModel::load(const std::string& path,
                                                 const ModelOptions& options) {
  const c10::Device device = parse_device(options.device);
  check_precision_on(options.precision, device);
  if (options.precision == Precision::kBFloat16 && device.is_cpu() && !cpu_has_native_bfloat16())
    logger().warn(
        "this CPU has neither AVX-512 BF16 nor AMX: bf16 products are emulated and slower "
        "than fp32");
  // The reduced-precision modes ask for rounding; fp32 promises float32 (CPU parity).
  if (device.is_cuda()) use_exact_float32_on_cuda();
  LoadedCheckpoint loaded = load_checkpoint(path);
  const StateDict& state = loaded.state;
  std::shared_ptr<ClipModel> model(new ClipModel());
  model->path_ = path;
  model->source_ = std::move(loaded.source);
  model->fingerprint_ = tagclip::weights_fingerprint(state);
  model->arch_ = loaded.arch;
  // What the tensors alone do not fix: the same weights run as GELU, or split into other
  // heads, are another model (a resumed run must not mix their records). OpenAI's
  // checkpoints add nothing, so their fingerprints are as before.
  const ClipArchitecture& arch = loaded.arch;
  if (arch.vision_activation == Activation::kGelu) model->fingerprint_ += "+vision-gelu";
  if (arch.text_activation == Activation::kGelu) model->fingerprint_ += "+text-gelu";
  if (arch.vision_heads * 64 != arch.vision_width)
    model->fingerprint_ += "+vision-heads-" + std::to_string(arch.vision_heads);
  if (arch.text_heads * 64 != arch.text_width)
    model->fingerprint_ += "+text-heads-" + std::to_string(arch.text_heads);
  model->device_ = device;
  model->dtype_ = options.dtype;
  model->precision_ = options.precision;
  const at::TensorOptions tensor_options = at::TensorOptions().dtype(options.dtype).device(device);
  model->vision_ = std::make_unique<VisionTower>(state, model->arch_, tensor_options,
                                                 product_dtype(options.precision));
  model->text_ = std::make_unique<TextTower>(state, model->arch_, tensor_options);
  model->logit_scale_ = std::exp(state.at("logit_scale").to(at::kDouble).item<double>());
  return model;
}

}  // namespace tagclip
