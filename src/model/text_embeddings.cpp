#include "tagclip/model/text_embeddings.h"

#include <algorithm>

#include "tagclip/model/prompt_templates.h"

namespace tagclip {

at::Tensor encode_class_embeddings(const ClipModel& model, const ClipTokenizer& tokenizer,
                                   const std::vector<std::string>& class_names,
                                   const std::vector<std::string>& templates,
                                   const TextEncodingOptions& options) {
  const at::InferenceMode guard;
  const int64_t classes = static_cast<int64_t>(class_names.size());
  const int64_t per_class = static_cast<int64_t>(templates.size());
  const int64_t context = model.architecture().context_length;
  const int64_t embed_dim = model.architecture().embed_dim;
  if (classes == 0 || per_class == 0)
    return at::empty({classes, embed_dim}, at::TensorOptions().device(model.device()));

  // All prompts, class-major: prompt p = class p / T, template p % T. [K*T, C] int64.
  at::Tensor ids = at::empty({classes * per_class, context}, at::kLong);
  int64_t* row = ids.data_ptr<int64_t>();
  for (const std::string& name : class_names) {
    for (const std::string& tmpl : templates) {
      const std::vector<int64_t> tokens = tokenizer.tokenize(
          fill_template(tmpl, name), static_cast<int>(context), options.truncate_long_prompts);
      std::copy(tokens.begin(), tokens.end(), row);
      row += context;
    }
  }

  // Batches hold whole classes, so each class's mean is taken over one batch's rows.
  const int64_t classes_per_batch = std::max<int64_t>(1, options.prompts_per_batch / per_class);
  std::vector<at::Tensor> embeddings;
  for (int64_t first = 0; first < classes; first += classes_per_batch) {
    const int64_t count = std::min(classes_per_batch, classes - first);
    const at::Tensor batch_ids = ids.slice(0, first * per_class, (first + count) * per_class);
    at::Tensor features = model.text().encode(batch_ids).to(at::kFloat);  // [count*T, E]
    features = features / features.norm(2, -1, true);
    at::Tensor means = features.view({count, per_class, embed_dim}).mean(1);  // [count, E]
    embeddings.push_back(means / means.norm(2, -1, true));
  }
  return at::cat(embeddings, 0);
}

}  // namespace tagclip
