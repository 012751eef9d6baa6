// `tagclip merge`: the shard outputs of a sharded run joined into one file in input order.
#pragma once

#include <CLI/CLI.hpp>

namespace tagclip::cli {

void register_merge_command(CLI::App& app, int& exit_code);

}  // namespace tagclip::cli
