// Exit statuses of the tagclip command, documented in --help and the README.
#pragma once

namespace tagclip::cli {

constexpr int kExitOk = 0;
constexpr int kExitSomeImagesFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitLoadFailed = 3;    // model, tokenizer or vocabulary could not be loaded
constexpr int kExitOutputFailed = 4;  // an output file could not be written (disk full, ...)

}  // namespace tagclip::cli
