// Options that hold a limit a user may lift: a positive integer, or "none" for no limit.
// An explicit word instead of a magic 0, so that no value silently means "default".
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace tagclip::cli {

// Registers `flag` on `command`: "none" sets `limit` to nullopt, an integer in
// [minimum, max of int64] sets it; anything else is a usage error naming the flag.
// The help text shows the current value of `limit` as the default.
CLI::Option* add_limit_option(CLI::App& command, const std::string& flag,
                              std::optional<int64_t>& limit, const std::string& help,
                              int64_t minimum = 1);

}  // namespace tagclip::cli
