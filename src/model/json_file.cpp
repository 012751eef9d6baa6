#include "json_file.h"

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

}  // namespace tagclip
