// `tagclip info`: what a checkpoint is, without running it.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

// Registers the subcommand; the callback prints the architecture and returns via exit code.
void register_info_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
