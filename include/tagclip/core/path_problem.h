// Why a path cannot be used, in words a user can act on: a symbolic link loop or a dangling
// link is not "no such file".
#pragma once

#include <string>

namespace tagclip {

// For a path that stat(2) cannot follow: "a symbolic link loop", "a dangling symbolic link
// (to 'target')", "no such <missing>", "permission denied", "a part of its path is not a
// folder", or the system's words for anything else. `missing` is what was expected ("file",
// "file or folder"). Returns "" when the path can be followed after all.
std::string path_problem(const std::string& path, const std::string& missing = "file");

}  // namespace tagclip
