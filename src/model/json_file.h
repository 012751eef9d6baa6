// A model's JSON configuration file (config.json, open_clip_config.json), read whole.
// Private to src/model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tagclip {

// Throws ModelError naming `path` when it cannot be read or is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace tagclip
