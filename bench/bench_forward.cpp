// Times the vision forward (as TagCLIP runs it: self-only last block, all attention maps
// kept) at 224x224 and 512x384, and text encoding per prompt, on a CLIP checkpoint
// (default: a random one of ViT-B/16 size). Prints one line per figure.
#include <ATen/Parallel.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tagclip/model/clip_model.h"
#include "tagclip/model/device.h"
#include "tagclip/model/random_checkpoint.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double median_seconds(int repeats, F&& run) {
  run();  // warm-up: first-touch allocations, BLAS thread start
  std::vector<double> times;
  for (int i = 0; i < repeats; ++i) {
    const auto start = Clock::now();
    run();
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Vision and text forward timings of tagclip's CLIP implementation"};
  std::string model_path;
  std::optional<int> threads;
  int repeats = 5;
  std::string device = "cpu";
  std::string precision = "fp32";
  app.add_option("--precision", precision, "fp32, bf16 or fp16 (CUDA)")->capture_default_str();
  app.add_option("--model", model_path,
                 "Checkpoint to time; default: a random ViT-B/16-sized one written to a temp dir");
  app.add_option("--threads", threads, "Intra-op threads (default: every core)");
  app.add_option("--repeats", repeats, "Timed runs per figure (median printed)")
      ->capture_default_str();
  app.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  tagclip::set_up_cpu_arithmetic_from_environment();  // before LibTorch starts its threads
  const int used_threads = tagclip::set_thread_count(threads);
  if (model_path.empty()) {
    model_path = (std::filesystem::temp_directory_path() / "tagclip-bench-vit-b16.pt").string();
    if (!std::filesystem::exists(model_path))
      tagclip::write_random_checkpoint(model_path, tagclip::RandomCheckpointSpec::vit_b16());
  }
  tagclip::ModelOptions options;
  options.device = device;
  options.precision = tagclip::parse_precision(precision);
  const auto model = tagclip::ClipModel::load(model_path, options);
  const auto& arch = model->architecture();
  std::printf("model %s (%s), device %s, precision %s, threads %d\n", model_path.c_str(),
              arch.release_name().c_str(), device.c_str(), precision.c_str(), used_threads);

  const at::InferenceMode guard;
  tagclip::VisionForwardOptions vision_options;
  vision_options.self_only_last_block = true;
  for (int64_t i = 0; i < arch.vision_layers; ++i) vision_options.attention_blocks.push_back(i);
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{224, 224}, {384, 512}};
  for (const auto& [h, w] : sizes) {
    const at::Tensor image = at::randn({1, 3, h, w}, model->tensor_options());
    const double seconds = median_seconds(repeats, [&] {
      auto out = model->vision().forward(image, vision_options);
      if (model->device().is_cuda()) out.tokens.cpu();
    });
    std::printf("vision forward %ldx%ld (HxW): %.1f ms\n", static_cast<long>(h),
                static_cast<long>(w), seconds * 1e3);
  }
  // 85 prompts: one class of the reference's template ensemble.
  const int64_t prompts = 85;
  at::Tensor ids = at::zeros({prompts, arch.context_length}, at::kLong);
  ids.slice(1, 0, 12).random_(1, 40000);
  ids.select(1, 0).fill_(49406 % arch.vocab_size);
  ids.select(1, 12).fill_(arch.vocab_size - 1);  // end token: the largest id
  const double text_seconds = median_seconds(repeats, [&] { model->text().encode(ids); });
  std::printf("text encode: %.3f ms per prompt (batch of %ld prompts of 13 tokens)\n",
              text_seconds * 1e3 / prompts, static_cast<long>(prompts));
  return 0;
}
