// CLIP's tokenizer on any bytes: invalid UTF-8 is a TokenizerError, anything else gives ids
// inside the vocabulary.
#include <cstdlib>

#include "fuzz_input.h"
#include "tagclip/errors.h"
#include "tagclip/model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tagclip::ClipTokenizer tokenizer(
      tagclip::fuzz::source_file("models/bpe_simple_vocab_16e6.txt.gz"));
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const int64_t id : tokenizer.encode(text))
      if (id < 0 || id >= tokenizer.vocab_size()) std::abort();
    tokenizer.tokenize(text, 77, /*truncate=*/true);
  } catch (const tagclip::Error&) {
  }
  return 0;
}
