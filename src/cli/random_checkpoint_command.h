// `tagclip random-checkpoint`: writes an OpenAI-layout CLIP ViT with random weights, for
// tests, benchmarks and trying the tool without the real weights.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

void register_random_checkpoint_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
