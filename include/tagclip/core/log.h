// Where the library's messages go: spdlog's logger named "tagclip", which a program may
// register itself with sinks and a level of its own (the command line does); else one is made
// that writes to stderr, so a program's standard output stays its own.
#pragma once

#include <spdlog/spdlog.h>

namespace tagclip {

spdlog::logger& logger();

}  // namespace tagclip
