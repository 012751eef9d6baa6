// Options that hold a limit a user may lift: a positive integer, or "none" for no limit.
// An explicit word instead of a magic 0, so that no value silently means "default".
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace tagclip::cli {

// Parses `text` for `flag`: "none" is nullopt, an integer in [minimum, maximum] is itself;
// anything else throws CLI::ValidationError naming the flag.
std::optional<int64_t> parse_limit(const std::string& flag, const std::string& text,
                                   int64_t minimum, int64_t maximum);

// Registers `flag` on `command` writing into `limit`; --help shows its current value.
template <typename Integer>
CLI::Option* add_limit_option(CLI::App& command, const std::string& flag,
                              std::optional<Integer>& limit, const std::string& help) {
  const int64_t maximum = static_cast<int64_t>(
      std::min<uint64_t>(std::numeric_limits<Integer>::max(), std::numeric_limits<int64_t>::max()));
  auto parse = [&limit, flag, maximum](const std::string& text) {
    const std::optional<int64_t> value = parse_limit(flag, text, 1, maximum);
    limit = value ? std::optional<Integer>(static_cast<Integer>(*value)) : std::nullopt;
  };
  return command.add_option_function<std::string>(flag, parse, help + " ('none': no limit)")
      ->type_name("N|none")
      ->default_str(limit ? std::to_string(*limit) : "none");
}

}  // namespace tagclip::cli
