// `tagclip eval-seg`: score pixel pseudo-masks, or the masks of CAM files (optionally through
// the dense CRF), against ground-truth PNGs with the authors' eval_cam.py metrics.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

void register_eval_seg_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
