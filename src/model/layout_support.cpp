#include "layout_support.h"

#include <fstream>
#include <iterator>

#include "tagclip/errors.h"

namespace tagclip {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path, "", "cannot open it for reading");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw ModelError(path, "", "is not valid JSON");
  return json;
}

int64_t positive_int_field(const nlohmann::json& section, const char* section_name,
                           const char* field, int64_t fallback, const std::string& path) {
  const auto it = section.find(field);
  if (it == section.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 1)
    throw ModelError(path, "",
                     std::string(section_name) + "." + field + " is not a positive integer");
  return it->get<int64_t>();
}

int64_t consecutive_blocks(const StateDict& state, const std::string& prefix) {
  int64_t n = 0;
  while (state.count(prefix + std::to_string(n) + ".ln_1.weight")) ++n;
  return n;
}

int64_t width_of(const StateDict& state, const std::string& name) {
  const auto found = state.find(name);
  return found == state.end() || found->second.dim() == 0 ? -1 : found->second.size(0);
}

}  // namespace tagclip
