// Prompt-ensemble class embeddings against the authors' encode_text_with_prompt_ensemble
// (golden from scripts/golden/make_model_golden.py), and the on-disk cache.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "golden_arrays.h"
#include "tagclip/core/sha256.h"
#include "tagclip/errors.h"
#include "tagclip/model/embedding_cache.h"
#include "tagclip/model/prompt_templates.h"
#include "tagclip/model/text_embeddings.h"
#include "test_support.h"

namespace tagclip {
namespace {

class TextEmbeddings : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(2);
    if (!model_) model_ = ClipModel::load(testing::fidelity_checkpoint_path());
    if (!tokenizer_) tokenizer_ = std::make_unique<ClipTokenizer>(testing::bpe_vocabulary_path());
  }
  static std::shared_ptr<const ClipModel> model_;
  static std::unique_ptr<ClipTokenizer> tokenizer_;
};
std::shared_ptr<const ClipModel> TextEmbeddings::model_;
std::unique_ptr<ClipTokenizer> TextEmbeddings::tokenizer_;

std::vector<std::string> golden_classes(const testing::GoldenArrays& golden) {
  return golden.scalars().at("classes").get<std::vector<std::string>>();
}

TEST_F(TextEmbeddings, MatchReferenceEnsembleForMultiWordNames) {
  const testing::GoldenArrays golden(testing::data_path("golden/model_fidelity"));
  const at::Tensor expected = golden.array("class_embeddings");
  const at::Tensor got = encode_class_embeddings(*model_, *tokenizer_, golden_classes(golden),
                                                 reference_prompt_templates());
  ASSERT_EQ(got.sizes(), expected.sizes());
  const double error = (got - expected).abs().max().item<double>();
  std::cout << "[ fidelity ] class embeddings: max |diff| " << error << std::endl;
  EXPECT_LE(error, 1e-4);
  EXPECT_LE((got.norm(2, -1) - 1).abs().max().item<double>(), 1e-5);
}

TEST_F(TextEmbeddings, BatchSizeDoesNotChangeNumbers) {
  const std::vector<std::string> names = {"cat", "traffic light", "teddy bear"};
  TextEncodingOptions one_class_per_batch;
  one_class_per_batch.prompts_per_batch = 1;
  const at::Tensor a = encode_class_embeddings(*model_, *tokenizer_, names,
                                               reference_prompt_templates(), one_class_per_batch);
  const at::Tensor b =
      encode_class_embeddings(*model_, *tokenizer_, names, reference_prompt_templates());
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-5);
}

TEST_F(TextEmbeddings, SingleTemplateEqualsNormalisedPromptFeature) {
  const at::Tensor got =
      encode_class_embeddings(*model_, *tokenizer_, {"dog"}, {"a photo of a {}."});
  const std::vector<int64_t> ids = tokenizer_->tokenize("a photo of a dog.");
  const at::Tensor feature = model_->text().encode(at::tensor(ids, at::kLong).view({1, -1}));
  const at::Tensor expected = feature / feature.norm(2, -1, true);
  EXPECT_LE((got - expected).abs().max().item<double>(), 1e-6);
}

TEST_F(TextEmbeddings, OverLongPromptIsAnErrorOrTruncated) {
  std::string long_name;
  for (int i = 0; i < 80; ++i) long_name += "word ";
  EXPECT_THROW(encode_class_embeddings(*model_, *tokenizer_, {long_name}, {"a {}."}),
               TokenizerError);
  TextEncodingOptions truncate;
  truncate.truncate_long_prompts = true;
  const at::Tensor got =
      encode_class_embeddings(*model_, *tokenizer_, {long_name}, {"a {}."}, truncate);
  EXPECT_EQ(got.size(0), 1);
}

TEST_F(TextEmbeddings, CacheHitReturnsSameNumbersWithoutEncoding) {
  const EmbeddingCache cache(testing::make_scratch_dir("cache-hit"));
  const std::vector<std::string> names = {"dog", "hot dog"};
  const auto first = class_embeddings_with_cache(*model_, *tokenizer_, names,
                                                 reference_prompt_templates(), {}, &cache);
  EXPECT_EQ(first.status, EmbeddingCache::Status::kMiss);
  const auto second = class_embeddings_with_cache(*model_, *tokenizer_, names,
                                                  reference_prompt_templates(), {}, &cache);
  EXPECT_EQ(second.status, EmbeddingCache::Status::kHit);
  EXPECT_TRUE(at::equal(first.embeddings, second.embeddings));
}

TEST_F(TextEmbeddings, DamagedCacheEntryIsDetectedAndRebuilt) {
  const EmbeddingCache cache(testing::make_scratch_dir("cache-damaged"));
  const std::vector<std::string> names = {"bus"};
  const auto fresh = class_embeddings_with_cache(*model_, *tokenizer_, names,
                                                 reference_prompt_templates(), {}, &cache);
  const std::string key = EmbeddingCache::make_key(cache.file_hash(model_->path()),
                                                   cache.file_hash(tokenizer_->bpe_path()), names,
                                                   reference_prompt_templates(), {});
  const std::string entry = cache.entry_path(key);
  ASSERT_TRUE(std::filesystem::exists(entry));
  {  // flip one byte of the payload
    std::fstream file(entry, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(120);
    file.put('\x5a');
  }
  EXPECT_EQ(cache.load(key).status, EmbeddingCache::Status::kDamaged);
  EXPECT_EQ(cache.load(key).problem, "checksum mismatch");
  const auto rebuilt = class_embeddings_with_cache(*model_, *tokenizer_, names,
                                                   reference_prompt_templates(), {}, &cache);
  EXPECT_EQ(rebuilt.status, EmbeddingCache::Status::kDamaged);
  EXPECT_TRUE(at::equal(rebuilt.embeddings, fresh.embeddings));
  EXPECT_EQ(cache.load(key).status, EmbeddingCache::Status::kHit);

  std::filesystem::resize_file(entry, 50);  // truncated, as by a full disk
  EXPECT_EQ(cache.load(key).status, EmbeddingCache::Status::kDamaged);
}

TEST(EmbeddingCacheKey, ChangesWithEveryInput) {
  const std::vector<std::string> names = {"a", "b"}, templates = {"{}."};
  const std::string base = EmbeddingCache::make_key("m", "t", names, templates, {});
  EXPECT_NE(base, EmbeddingCache::make_key("m2", "t", names, templates, {}));
  EXPECT_NE(base, EmbeddingCache::make_key("m", "t2", names, templates, {}));
  EXPECT_NE(base, EmbeddingCache::make_key("m", "t", {"b", "a"}, templates, {}));
  EXPECT_NE(base, EmbeddingCache::make_key("m", "t", {"a b"}, templates, {}));
  EXPECT_NE(base, EmbeddingCache::make_key("m", "t", names, {"a {}."}, {}));
  TextEncodingOptions truncate;
  truncate.truncate_long_prompts = true;
  EXPECT_NE(base, EmbeddingCache::make_key("m", "t", names, templates, truncate));
  EXPECT_EQ(base, EmbeddingCache::make_key("m", "t", names, templates, {}));
}

TEST(EmbeddingCacheFileHash, MemoisedAndRefreshedWhenFileChanges) {
  const std::string dir = testing::make_scratch_dir("cache-file-hash");
  const EmbeddingCache cache(dir + "/cache");
  const std::string file = dir + "/model.pt";
  std::ofstream(file) << "first contents";
  EXPECT_EQ(cache.file_hash(file), sha256_hex("first contents"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/cache/file-hashes.json"));
  std::ofstream(file) << "second, longer contents";
  EXPECT_EQ(cache.file_hash(file), sha256_hex("second, longer contents"));
}

// A different file given the old one's size and modification time (cp -p, touch -d) must
// not reuse the old hash, or a cache hit would give another model's embeddings.
TEST(EmbeddingCacheFileHash, SameSizeAndTimeButOtherContentsIsHashedAgain) {
  const std::string dir = testing::make_scratch_dir("cache-file-hash-same-time");
  const EmbeddingCache cache(dir + "/cache");
  const std::string file = dir + "/model.pt";
  std::ofstream(file) << "first contents";
  const auto written = std::filesystem::last_write_time(file);
  EXPECT_EQ(cache.file_hash(file), sha256_hex("first contents"));
  std::ofstream(file) << "other contents";  // same length
  std::filesystem::last_write_time(file, written);
  EXPECT_EQ(cache.file_hash(file), sha256_hex("other contents"));
  // Replaced by a rename, as a download tool does, with the old time again.
  std::ofstream(dir + "/new.pt") << "third contents";
  std::filesystem::last_write_time(dir + "/new.pt", written);
  std::filesystem::rename(dir + "/new.pt", file);
  EXPECT_EQ(cache.file_hash(file), sha256_hex("third contents"));
}

TEST(EmbeddingCacheFileHash, ADamagedMemoIsRecomputedNotFatal) {
  const std::string dir = testing::make_scratch_dir("cache-file-hash-damaged-memo");
  const std::string file = dir + "/model.pt";
  std::ofstream(file) << "contents";
  std::filesystem::create_directories(dir + "/cache");
  const std::string canonical = std::filesystem::weakly_canonical(file).string();
  for (const std::string& memo : std::vector<std::string>{
           R"({")" + canonical + R"(": {"size": "8", "mtime_ns": [], "sha256": 5}})",
           R"({")" + canonical + R"(": {"size": 8, "sha256": "short"}})",
           R"({")" + canonical + R"(": "not an object"})", R"([1, 2])", "{ not json"}) {
    SCOPED_TRACE(memo);
    std::ofstream(dir + "/cache/file-hashes.json", std::ios::trunc) << memo;
    const EmbeddingCache cache(dir + "/cache");
    EXPECT_EQ(cache.file_hash(file), sha256_hex("contents"));
    // Rewritten whole: the next run finds a good entry.
    const auto rewritten =
        nlohmann::json::parse(testing::read_all(dir + "/cache/file-hashes.json"));
    EXPECT_EQ(rewritten[canonical]["sha256"], sha256_hex("contents"));
  }
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace tagclip
