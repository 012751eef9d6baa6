// `tagclip tag`: tag images with the classes of a vocabulary, as JSON Lines.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

void register_tag_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
