// ClipTokenizer against the ids of the authors' simple_tokenizer.py / clip.tokenize
// (tests/data/tokenizer_golden.json, written by scripts/golden/make_tokenizer_golden.py):
// every built-in prompt, edge cases, seeded random strings, and for every code point how
// the cleaning and the pre-tokenizing regex treat it.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tagclip/errors.h"
#include "tagclip/model/prompt_templates.h"
#include "tagclip/model/tokenizer.h"
#include "test_support.h"

namespace tagclip {
namespace {

using Ids = std::vector<int64_t>;

const nlohmann::json& golden() {
  static const nlohmann::json data = [] {
    std::ifstream in(testing::data_path("tokenizer_golden.json"));
    if (!in) throw std::runtime_error("tests/data/tokenizer_golden.json is missing");
    return nlohmann::json::parse(in);
  }();
  return data;
}

std::string utf8_of(char32_t code_point) {
  std::string out;
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
  return out;
}

std::string ids_text(const Ids& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "]";
}

class ClipTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = std::make_unique<ClipTokenizer>(testing::bpe_vocabulary_path());
  }
  static void TearDownTestSuite() { tokenizer_.reset(); }
  static std::unique_ptr<ClipTokenizer> tokenizer_;
};
std::unique_ptr<ClipTokenizer> ClipTokenizerTest::tokenizer_;

TEST_F(ClipTokenizerTest, SpecialTokensAndVocabularySizeMatchReference) {
  const nlohmann::json& about = golden().at("about");
  EXPECT_EQ(tokenizer_->start_token(), about.at("start_token").get<int64_t>());
  EXPECT_EQ(tokenizer_->end_token(), about.at("end_token").get<int64_t>());
  EXPECT_EQ(tokenizer_->vocab_size(), about.at("vocab_size").get<int64_t>());
  EXPECT_EQ(tokenizer_->vocab_size(), 49408);
}

TEST_F(ClipTokenizerTest, EveryBuiltinPromptMatchesReference) {
  const nlohmann::json& data = golden();
  const std::vector<std::string>& templates = reference_prompt_templates();
  ASSERT_EQ(templates, data.at("templates").get<std::vector<std::string>>());
  std::map<std::pair<size_t, std::string>, Ids> exceptions;
  for (const auto& entry : data.at("prompt_exceptions")) {
    exceptions[{entry[0].get<size_t>(), entry[1].get<std::string>()}] = entry[2].get<Ids>();
  }
  const auto class_ids = data.at("class_ids").get<std::map<std::string, Ids>>();
  int compared = 0;
  int mismatches = 0;
  for (size_t t = 0; t < templates.size(); ++t) {
    const Ids before = data.at("template_ids")[t][0].get<Ids>();
    const Ids after = data.at("template_ids")[t][1].get<Ids>();
    for (const auto& [name, ids] : class_ids) {
      Ids expected;
      if (const auto it = exceptions.find({t, name}); it != exceptions.end()) {
        expected = it->second;
      } else {
        expected = before;
        expected.insert(expected.end(), ids.begin(), ids.end());
        expected.insert(expected.end(), after.begin(), after.end());
      }
      const std::string prompt = fill_template(templates[t], name);
      const Ids actual = tokenizer_->encode(prompt);
      ++compared;
      if (actual != expected && ++mismatches <= 10) {
        ADD_FAILURE() << "\"" << prompt << "\": got " << ids_text(actual) << ", reference "
                      << ids_text(expected);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(compared, data.at("about").at("prompt_count").get<int>());
}

TEST_F(ClipTokenizerTest, EdgeCasesAndRandomStringsMatchReference) {
  int mismatches = 0;
  for (const auto& entry : golden().at("cases")) {
    const std::string text = entry[0].get<std::string>();
    const Ids expected = entry[1].get<Ids>();
    const Ids actual = tokenizer_->encode(text);
    if (actual != expected && ++mismatches <= 20) {
      ADD_FAILURE() << "\"" << text << "\" (cleaned \"" << clean_text(text) << "\"): got "
                    << ids_text(actual) << ", reference " << ids_text(expected);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST_F(ClipTokenizerTest, TokenizePadsTruncatesAndRejectsLikeReference) {
  for (const auto& entry : golden().at("tokenize_cases")) {
    const std::string text = entry[0].get<std::string>();
    const int context_length = entry[1].get<int>();
    const bool truncate = entry[2].get<bool>();
    SCOPED_TRACE("\"" + text + "\" context " + std::to_string(context_length) +
                 (truncate ? " truncated" : ""));
    if (entry[3].is_null()) {
      EXPECT_THROW(tokenizer_->tokenize(text, context_length, truncate), TokenizerError);
      continue;
    }
    Ids expected = entry[3].get<Ids>();
    expected.resize(static_cast<size_t>(context_length), 0);
    EXPECT_EQ(tokenizer_->tokenize(text, context_length, truncate), expected);
  }
}

TEST_F(ClipTokenizerTest, OverlongPromptErrorQuotesThePrompt) {
  std::string prompt;
  for (int i = 0; i < 80; ++i) prompt += "dog ";
  try {
    tokenizer_->tokenize(prompt);
    FAIL() << "an 82-token prompt was accepted";
  } catch (const TokenizerError& error) {
    EXPECT_NE(std::string(error.what()).find(prompt), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("77"), std::string::npos) << error.what();
  }
  const Ids truncated = tokenizer_->tokenize(prompt, 77, true);
  ASSERT_EQ(truncated.size(), 77u);
  EXPECT_EQ(truncated.front(), tokenizer_->start_token());
  EXPECT_EQ(truncated.back(), tokenizer_->end_token());
  EXPECT_THROW(tokenizer_->tokenize("dog", 0), TokenizerError);
}

TEST_F(ClipTokenizerTest, InvalidUtf8IsATokenizerError) {
  EXPECT_THROW(tokenizer_->encode("caf\xC3"), TokenizerError);
  EXPECT_THROW(tokenizer_->encode("\xC0\xAF"), TokenizerError);          // overlong '/'
  EXPECT_THROW(tokenizer_->encode("\xED\xA0\x80"), TokenizerError);      // a surrogate
  EXPECT_THROW(tokenizer_->encode("\xF4\x90\x80\x80"), TokenizerError);  // past U+10FFFF
}

TEST_F(ClipTokenizerTest, EncodeIsThreadSafe) {
  const std::vector<std::string>& templates = reference_prompt_templates();
  std::vector<Ids> serial;
  for (const std::string& t : templates)
    serial.push_back(tokenizer_->encode(fill_template(t, "dog")));
  std::vector<std::vector<Ids>> parallel(4);
  std::vector<std::thread> threads;
  for (auto& out : parallel) {
    threads.emplace_back([&templates, &out] {
      for (const std::string& t : templates)
        out.push_back(tokenizer_->encode(fill_template(t, "dog")));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& out : parallel) EXPECT_EQ(out, serial);
}

// The reference's regex, probed one code point at a time exactly as the generator probes
// it: S = yields no word, L = joins a letter, O = joins '!', N = a word of its own.
TEST(ClipTextTest, PreTokenizerClassifiesEveryCodePointLikeReference) {
  const auto runs = golden().at("char_classes");
  ASSERT_FALSE(runs.empty());
  int mismatches = 0;
  size_t run = 0;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    while (run + 1 < runs.size() && runs[run + 1][0].get<uint32_t>() <= c) ++run;
    const std::string expected = runs[run][1].get<std::string>();
    const std::string s = utf8_of(c);
    std::string actual;
    if (split_words(s).empty()) {
      actual = "S";
    } else if (split_words("a" + s) == std::vector<std::string>{"a" + s}) {
      actual = "L";
    } else if (split_words("!" + s) == std::vector<std::string>{"!" + s}) {
      actual = "O";
    } else {
      actual = "N";
    }
    if (actual != expected && ++mismatches <= 20) {
      ADD_FAILURE() << "U+" << std::hex << static_cast<uint32_t>(c) << ": " << actual
                    << ", reference " << expected;
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// NFC (standing in for ftfy), html.unescape, strip, whitespace collapsing and lower() on
// every single code point.
TEST(ClipTextTest, CleaningMatchesReferenceForEveryCodePoint) {
  std::map<char32_t, std::string> changed;
  for (const auto& entry : golden().at("cleaned")) {
    changed[entry[0].get<uint32_t>()] = entry[1].get<std::string>();
  }
  int mismatches = 0;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    const std::string s = utf8_of(c);
    const auto it = changed.find(c);
    const std::string& expected = it == changed.end() ? s : it->second;
    const std::string actual = clean_text(s);
    if (actual != expected && ++mismatches <= 20) {
      ADD_FAILURE() << "U+" << std::hex << static_cast<uint32_t>(c) << ": \"" << actual
                    << "\", reference \"" << expected << "\"";
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(ClipTextTest, HtmlUnescapeFollowsHtml5Rules) {
  EXPECT_EQ(html_unescape("&amp;amp;"), "&amp;");  // one pass; clean_text runs two
  EXPECT_EQ(html_unescape("&#39;&#x27;&#X27"), "'''");
  EXPECT_EQ(html_unescape("&ampx &notit; &copy2024"),
            "&x \xC2\xACit; \xC2\xA9"
            "2024");
  EXPECT_EQ(html_unescape("&#150;&#0;&#xD800;&#1;"), "\xE2\x80\x93\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(html_unescape("&hearts; &lang;"), "\xE2\x99\xA5 \xE2\x9F\xA8");
  EXPECT_EQ(html_unescape("&#; &#x; & amp;"), "&#; &#x; & amp;");
}

TEST(ClipTextTest, Html5OnlyNamesAreLeftAsTextDocumentedLimit) {
  // Python's html.unescape knows all 2231 HTML5 names and turns &star; into U+2606; the
  // table here stops at HTML 4, so these stay literal text.
  EXPECT_EQ(html_unescape("&star; &NotEqualTilde;"), "&star; &NotEqualTilde;");
}

TEST(ClipTokenizerFileTest, MissingVocabularyNamesThePath) {
  const std::string path = testing::make_scratch_dir("tokenizer-missing") + "/absent.txt.gz";
  try {
    ClipTokenizer tokenizer(path);
    FAIL() << "a missing file was accepted";
  } catch (const TokenizerError& error) {
    EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
  }
}

TEST(ClipTokenizerFileTest, CorruptVocabularyNamesThePath) {
  const std::string dir = testing::make_scratch_dir("tokenizer-corrupt");
  const std::string short_file = dir + "/short.txt.gz";
  gzFile out = gzopen(short_file.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  gzputs(out, "#version: 0.2\ni n\nt h\n");
  gzclose(out);
  const std::string truncated = dir + "/truncated.txt.gz";
  {
    std::ifstream in(testing::bpe_vocabulary_path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  for (const std::string& path : {short_file, truncated}) {
    try {
      ClipTokenizer tokenizer(path);
      ADD_FAILURE() << path << " was accepted";
    } catch (const TokenizerError& error) {
      EXPECT_NE(std::string(error.what()).find(path), std::string::npos) << error.what();
    }
  }
}

// Python's str.split() drops the '\r' of a CRLF file, so its ids do not change.
TEST(ClipTokenizerFileTest, CrlfVocabularyGivesTheSameIds) {
  const std::string real = testing::bpe_vocabulary_path();
  std::string text;
  gzFile in = gzopen(real.c_str(), "rb");
  ASSERT_NE(in, nullptr);
  char buffer[1 << 16];
  for (int n; (n = gzread(in, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  gzclose(in);
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const std::string path = testing::make_scratch_dir("tokenizer-crlf") + "/crlf.txt.gz";
  gzFile out = gzopen(path.c_str(), "wb1");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(gzwrite(out, crlf.data(), static_cast<unsigned>(crlf.size())),
            static_cast<int>(crlf.size()));
  gzclose(out);
  const std::string prompt =
      "a photo of a traffic light, it's DON'T caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC";
  EXPECT_EQ(ClipTokenizer(path).encode(prompt), ClipTokenizer(real).encode(prompt));
}

}  // namespace
}  // namespace tagclip
