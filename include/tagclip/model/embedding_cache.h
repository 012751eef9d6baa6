// On-disk cache of class embeddings, so a second run with the same vocabulary encodes no
// text. An entry is keyed by everything that determines it: the model file's contents,
// the tokenizer file's contents, the class list, the templates and the encoding options.
// Each entry carries a SHA-256 of its bytes; a damaged entry is reported and rebuilt.
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>
#include <vector>

#include "tagclip/model/text_embeddings.h"

namespace tagclip {

class EmbeddingCache {
 public:
  // `dir` is created on first store. Default location: default_cache_dir().
  explicit EmbeddingCache(std::string dir);

  enum class Status { kHit, kMiss, kDamaged };
  struct Lookup {
    Status status = Status::kMiss;
    at::Tensor embeddings;  // [K, E] float32 on CPU when status == kHit
    std::string problem;    // why a damaged entry was rejected
  };

  static std::string make_key(const std::string& model_hash, const std::string& tokenizer_hash,
                              const std::vector<std::string>& class_names,
                              const std::vector<std::string>& templates,
                              const TextEncodingOptions& options);
  Lookup load(const std::string& key) const;
  // Writes atomically (temporary file then rename), so a killed run leaves no half entry.
  void store(const std::string& key, const at::Tensor& embeddings) const;
  std::string entry_path(const std::string& key) const;

  // SHA-256 of a file's contents, remembered in <dir>/file-hashes.json by path, size and
  // modification time so a 350 MB checkpoint is hashed once, not on every run.
  std::string file_hash(const std::string& path) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

struct CachedEmbeddings {
  at::Tensor embeddings;  // [K, E] float32 on the model's device
  EmbeddingCache::Status status = EmbeddingCache::Status::kMiss;
};

// Returns the class embeddings, from `cache` when it holds a sound entry, else encoded
// with encode_class_embeddings and stored. A damaged entry is logged (spdlog warn) and
// replaced. `cache` may be null (no caching).
CachedEmbeddings class_embeddings_with_cache(const ClipModel& model, const ClipTokenizer& tokenizer,
                                             const std::vector<std::string>& class_names,
                                             const std::vector<std::string>& templates,
                                             const TextEncodingOptions& options,
                                             const EmbeddingCache* cache);

}  // namespace tagclip
