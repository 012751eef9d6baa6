// The command-line spelling of TaggerConfig: the options shared by the commands that tag
// (tag, eval), each bound to its field, and the flag that names each field in messages.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "tagclip/tagclip.h"

namespace tagclip::cli {

// Registers model, vocabulary, method and image options on `command`, writing straight into
// `config` (whose current values are the defaults shown by --help). `batches`: also
// --batch-size, for the commands that tag through batches (tag, eval; segment tags one
// image at a time).
void add_tagger_options(CLI::App& command, TaggerConfig& config, bool batches = true);

// The flag that sets a TaggerConfig field named by OptionError::option() ("vote_count" ->
// "--vote-count").
std::string flag_for_option(const std::string& option);

}  // namespace tagclip::cli
