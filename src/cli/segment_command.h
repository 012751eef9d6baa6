// `tagclip segment`: class activation maps and pixel pseudo-masks for labelled images
// (CLIP-ES), with the labels given or from TagCLIP in the same run.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

void register_segment_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
