// What the Hugging Face and open_clip layouts share when they read a configuration file and
// check it against the tensors. Private to src/model.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tagclip/model/checkpoint.h"

namespace tagclip {

// A model's JSON configuration file (config.json, open_clip_config.json), read whole.
// Throws ModelError naming `path` when it cannot be read or is not valid JSON.
nlohmann::json read_json_file(const std::string& path);

// section[field] as a positive integer, or `fallback` when absent; otherwise a ModelError
// naming `path` and "<section_name>.<field>".
int64_t positive_int_field(const nlohmann::json& section, const char* section_name,
                           const char* field, int64_t fallback, const std::string& path);

// Blocks "<prefix>0.", "<prefix>1.", ... present without a gap (counted by their ln_1.weight).
int64_t consecutive_blocks(const StateDict& state, const std::string& prefix);

// Dimension 0 of state[name] (a tower's width), or -1 when the tensor is absent, so a
// config's width can be compared before infer_architecture names what is missing.
int64_t width_of(const StateDict& state, const std::string& name);

}  // namespace tagclip
