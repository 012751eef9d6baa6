// `tagclip eval`: score `tagclip tag` output (or tag and score in one run) against a
// benchmark's ground truth, with the authors' mAP and F1/P/R.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

void register_eval_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
