// Where the command line looks for the model and the tokenizer vocabulary by default.
#pragma once

#include <string>

namespace tagclip {

// $TAGCLIP_MODEL, else the first existing of ./models/ViT-B-16.pt,
// <executable>/../models/ViT-B-16.pt, <executable>/../share/tagclip/models/ViT-B-16.pt,
// <source>/models/ViT-B-16.pt and <install prefix>/share/tagclip/models/ViT-B-16.pt, else
// "models/ViT-B-16.pt" (so the error names the usual place).
std::string default_model_path();

// Same for $TAGCLIP_BPE and bpe_simple_vocab_16e6.txt.gz.
std::string default_bpe_path();

// $XDG_CACHE_HOME/tagclip, else $HOME/.cache/tagclip, else ./.cache/tagclip.
std::string default_cache_dir();

}  // namespace tagclip
