#include "tagclip/model/embedding_cache.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tagclip/core/atomic_file.h"
#include "tagclip/core/log.h"
#include "tagclip/core/sha256.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {
namespace fs = std::filesystem;

// Entry layout: magic[8] | version u32 | reserved u32 | key[64] | rows i64 | cols i64 |
// rows*cols float32 | sha256 of all preceding bytes [32].
constexpr char kMagic[8] = {'T', 'A', 'G', 'C', 'L', 'I', 'P', 'E'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 64 + 8 + 8;

template <typename T>
void append(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T read_at(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Cache files are written whole or not at all; a failure is a CacheError.
void write_atomically(const std::string& path, const std::string& bytes) {
  try {
    write_file_atomically(path, bytes);
  } catch (const Error& e) {
    throw CacheError(e.what());
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

EmbeddingCache::EmbeddingCache(std::string dir) : dir_(std::move(dir)) {}

std::string EmbeddingCache::make_key(const std::string& model_hash,
                                     const std::string& tokenizer_hash,
                                     const std::vector<std::string>& class_names,
                                     const std::vector<std::string>& templates,
                                     const TextEncodingOptions& options) {
  // JSON gives an unambiguous encoding of the lists (no separator can collide).
  const nlohmann::json parts = {
      {"format", kFormatVersion},    {"model", model_hash},
      {"tokenizer", tokenizer_hash}, {"classes", class_names},
      {"templates", templates},      {"truncate", options.truncate_long_prompts}};
  return sha256_hex(parts.dump());
}

std::string EmbeddingCache::entry_path(const std::string& key) const {
  return (fs::path(dir_) / ("text-" + key + ".bin")).string();
}

EmbeddingCache::Lookup EmbeddingCache::load(const std::string& key) const {
  Lookup lookup;
  const std::string path = entry_path(key);
  std::error_code ec;
  if (!fs::exists(path, ec)) return lookup;
  const std::string bytes = read_file(path);
  auto damaged = [&](const std::string& problem) {
    lookup.status = Status::kDamaged;
    lookup.problem = problem;
    return lookup;
  };
  if (bytes.size() < kHeaderBytes + 32) return damaged("shorter than its header");
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) return damaged("not a tagclip cache entry");
  if (read_at<uint32_t>(bytes, 8) != kFormatVersion) return damaged("unknown format version");
  if (bytes.compare(16, 64, key) != 0) return damaged("holds another key");
  const int64_t rows = read_at<int64_t>(bytes, 80), cols = read_at<int64_t>(bytes, 88);
  if (rows < 0 || cols <= 0 ||
      bytes.size() != kHeaderBytes + static_cast<size_t>(rows * cols) * 4 + 32)
    return damaged("size does not match its header");
  const size_t body = bytes.size() - 32;
  Sha256 hash;
  hash.update(bytes.data(), body);
  const auto digest = hash.digest();
  if (std::memcmp(digest.data(), bytes.data() + body, 32) != 0) return damaged("checksum mismatch");
  lookup.embeddings = at::empty({rows, cols}, at::kFloat);
  std::memcpy(lookup.embeddings.data_ptr<float>(), bytes.data() + kHeaderBytes,
              static_cast<size_t>(rows * cols) * 4);
  lookup.status = Status::kHit;
  return lookup;
}

void EmbeddingCache::store(const std::string& key, const at::Tensor& embeddings) const {
  const at::Tensor values = embeddings.to(at::kCPU).to(at::kFloat).contiguous();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw CacheError(dir_ + ": cannot create cache folder: " + ec.message());
  std::string bytes(kMagic, 8);
  append(bytes, kFormatVersion);
  append(bytes, uint32_t{0});
  bytes += key;
  append(bytes, values.size(0));
  append(bytes, values.size(1));
  bytes.append(reinterpret_cast<const char*>(values.data_ptr<float>()),
               static_cast<size_t>(values.numel()) * 4);
  Sha256 hash;
  hash.update(bytes);
  const auto digest = hash.digest();
  bytes.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  write_atomically(entry_path(key), bytes);
}

namespace {

// What identifies one version of a file without reading it. Size and modification time
// alone are not enough: a different file can be given both (cp -p, touch -d). The change
// time cannot be set by a user and moves on every write or rename, and a file replaced by
// a rename has a new inode.
nlohmann::json file_identity(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw Error(path + ": cannot read: " + std::strerror(errno));
  auto nanoseconds = [](const timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + static_cast<int64_t>(t.tv_nsec);
  };
  return {{"size", static_cast<int64_t>(info.st_size)},
          {"mtime_ns", nanoseconds(info.st_mtim)},
          {"ctime_ns", nanoseconds(info.st_ctim)},
          {"inode", static_cast<uint64_t>(info.st_ino)},
          {"device", static_cast<uint64_t>(info.st_dev)}};
}

// A memo entry is used only when it is whole and well typed: a damaged file-hashes.json
// (hand-edited, another version's) is recomputed, never trusted and never fatal.
bool memo_matches(const nlohmann::json& entry, const nlohmann::json& identity) {
  if (!entry.is_object()) return false;
  const auto hash = entry.find("sha256");
  if (hash == entry.end() || !hash->is_string() || hash->get<std::string>().size() != 64)
    return false;
  for (const auto& [field, value] : identity.items())
    if (!entry.contains(field) || entry[field] != value) return false;
  return true;
}

}  // namespace

std::string EmbeddingCache::file_hash(const std::string& path) const {
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(path, ec).string();
  const nlohmann::json identity = file_identity(path);
  const std::string memo_path = (fs::path(dir_) / "file-hashes.json").string();
  nlohmann::json memo = nlohmann::json::object();
  if (fs::exists(memo_path, ec)) {
    memo = nlohmann::json::parse(read_file(memo_path), nullptr, /*allow_exceptions=*/false);
    if (!memo.is_object()) memo = nlohmann::json::object();  // damaged memo: start again
  }
  const auto it = memo.find(canonical);
  if (it != memo.end() && memo_matches(*it, identity)) return (*it)["sha256"].get<std::string>();

  const std::string hash = sha256_file_hex(path);
  nlohmann::json entry = identity;
  entry["sha256"] = hash;
  memo[canonical] = entry;
  try {
    fs::create_directories(dir_, ec);
    write_atomically(memo_path, memo.dump(1));
  } catch (const CacheError& e) {
    logger().warn("{} (hashes will be recomputed next run)", e.what());
  }
  return hash;
}

CachedEmbeddings class_embeddings_with_cache(const ClipModel& model, const ClipTokenizer& tokenizer,
                                             const std::vector<std::string>& class_names,
                                             const std::vector<std::string>& templates,
                                             const TextEncodingOptions& options,
                                             const EmbeddingCache* cache) {
  CachedEmbeddings result;
  std::string key;
  if (cache != nullptr) {
    // Every file that defines the model; for the layouts whose activation or heads come from
    // a name or a config, the architecture too (the same bytes renamed may run as GELU).
    std::string model_hash;
    for (const std::string& file : model.source().files) model_hash += cache->file_hash(file);
    if (model.source().layout != "OpenAI TorchScript")
      model_hash += "|" + model.architecture().to_json().dump();
    key = EmbeddingCache::make_key(model_hash, cache->file_hash(tokenizer.bpe_path()), class_names,
                                   templates, options);
    EmbeddingCache::Lookup lookup = cache->load(key);
    const int64_t expected_rows = static_cast<int64_t>(class_names.size());
    if (lookup.status == EmbeddingCache::Status::kHit &&
        (lookup.embeddings.size(0) != expected_rows ||
         lookup.embeddings.size(1) != model.architecture().embed_dim)) {
      lookup.status = EmbeddingCache::Status::kDamaged;
      lookup.problem = "shape does not match the vocabulary and model";
    }
    if (lookup.status == EmbeddingCache::Status::kHit) {
      logger().debug("text embeddings from cache {}", cache->entry_path(key));
      result.embeddings = lookup.embeddings.to(model.device());
      result.status = EmbeddingCache::Status::kHit;
      return result;
    }
    if (lookup.status == EmbeddingCache::Status::kDamaged)
      logger().warn("damaged text-embedding cache entry {} ({}); rebuilding it",
                    cache->entry_path(key), lookup.problem);
    result.status = lookup.status;
  }
  logger().info("encoding {} classes x {} prompt templates", class_names.size(), templates.size());
  result.embeddings = encode_class_embeddings(model, tokenizer, class_names, templates, options);
  if (cache != nullptr) {
    try {
      cache->store(key, result.embeddings);
    } catch (const CacheError& e) {
      logger().warn("{} (continuing without caching)", e.what());
    }
  }
  return result;
}

}  // namespace tagclip
