#include "limit_option.h"

namespace tagclip::cli {

CLI::Option* add_limit_option(CLI::App& command, const std::string& flag,
                              std::optional<int64_t>& limit, const std::string& help,
                              int64_t minimum) {
  auto parse = [&limit, flag, minimum](const std::string& text) {
    if (text == "none") {
      limit.reset();
      return;
    }
    std::size_t used = 0;
    int64_t value = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || value < minimum)
      throw CLI::ValidationError(flag, "expected an integer >= " + std::to_string(minimum) +
                                           " or 'none' (no limit), got '" + text + "'");
    limit = value;
  };
  return command.add_option_function<std::string>(flag, parse, help + " ('none': no limit)")
      ->type_name("N|none")
      ->default_str(limit ? std::to_string(*limit) : "none");
}

}  // namespace tagclip::cli
