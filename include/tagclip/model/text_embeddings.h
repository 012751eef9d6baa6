// Class embeddings from prompt ensembles: for each class, every template is filled in,
// tokenized and encoded; the class embedding is the mean of the L2-normalised prompt
// embeddings, L2-normalised again (the reference's encode_text_with_prompt_ensemble).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "tagclip/model/clip_model.h"
#include "tagclip/model/tokenizer.h"

namespace tagclip {

struct TextEncodingOptions {
  // Prompts over the context length: false = TokenizerError naming the prompt,
  // true = cut to the context length with the end token last (as the reference can).
  bool truncate_long_prompts = false;
  // Prompts encoded per forward pass; bounds memory, does not change the numbers.
  int64_t prompts_per_batch = 340;
};

// Returns [K, E] float32 on the model's device, row k for class_names[k].
at::Tensor encode_class_embeddings(const ClipModel& model, const ClipTokenizer& tokenizer,
                                   const std::vector<std::string>& class_names,
                                   const std::vector<std::string>& templates,
                                   const TextEncodingOptions& options = {});

}  // namespace tagclip
