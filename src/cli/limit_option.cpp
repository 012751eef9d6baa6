#include "limit_option.h"

namespace tagclip::cli {

std::optional<int64_t> parse_limit(const std::string& flag, const std::string& text,
                                   int64_t minimum, int64_t maximum) {
  if (text == "none") return std::nullopt;
  std::size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < minimum || value > maximum)
    throw CLI::ValidationError(flag, "expected an integer in " + std::to_string(minimum) + ".." +
                                         std::to_string(maximum) + " or 'none' (no limit), got '" +
                                         text + "'");
  return value;
}

}  // namespace tagclip::cli
