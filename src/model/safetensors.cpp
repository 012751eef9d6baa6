#include "tagclip/model/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "tagclip/core/atomic_file.h"
#include "tagclip/core/path_problem.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

// The reference reader's limit: a larger header is refused before it is read.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DtypeName {
  const char* name;
  at::ScalarType type;
};
// The format's dtypes that LibTorch 1.13 has (U16, U32, U64 and the F8 kinds it lacks).
constexpr DtypeName kDtypes[] = {{"BOOL", at::kBool}, {"U8", at::kByte},       {"I8", at::kChar},
                                 {"I16", at::kShort}, {"I32", at::kInt},       {"I64", at::kLong},
                                 {"F16", at::kHalf},  {"BF16", at::kBFloat16}, {"F32", at::kFloat},
                                 {"F64", at::kDouble}};

// One tensor of the header, checked.
struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
};

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct Header {
  File file;
  uint64_t data_start = 0;  // 8 + header length
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
};

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& info,
                  uint64_t data_bytes) {
  auto bad = [&](const std::string& problem) { return ModelError(path, name, problem); };
  if (!info.is_object()) throw bad("header entry is not an object");
  Entry entry;
  entry.name = name;
  const auto dtype = info.find("dtype");
  if (dtype == info.end() || !dtype->is_string()) throw bad("header entry has no dtype string");
  const std::string dtype_name = dtype->get<std::string>();
  const auto known = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                  [&](const DtypeName& d) { return dtype_name == d.name; });
  if (known == std::end(kDtypes)) throw bad("dtype '" + dtype_name + "' is not supported");
  entry.type = known->type;

  const auto shape = info.find("shape");
  if (shape == info.end() || !shape->is_array()) throw bad("header entry has no shape array");
  uint64_t bytes = c10::elementSize(entry.type);
  for (const auto& size : *shape) {
    if (!size.is_number_unsigned()) throw bad("shape " + shape->dump() + " is not non-negative");
    const uint64_t dim = size.get<uint64_t>();
    if (dim > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, dim, &bytes))
      throw bad("shape " + shape->dump() + " is too large");
    entry.shape.push_back(static_cast<int64_t>(dim));
  }

  const auto offsets = info.find("data_offsets");
  if (offsets == info.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    throw bad("header entry has no data_offsets [begin, end]");
  entry.begin = (*offsets)[0].get<uint64_t>();
  entry.end = (*offsets)[1].get<uint64_t>();
  if (entry.end < entry.begin || entry.end > data_bytes)
    throw bad("data_offsets " + offsets->dump() + " lie outside the " + std::to_string(data_bytes) +
              " data bytes");
  if (entry.end - entry.begin != bytes)
    throw bad("data_offsets " + offsets->dump() + " hold " +
              std::to_string(entry.end - entry.begin) + " bytes, but shape " + shape->dump() +
              " of " + dtype_name + " needs " + std::to_string(bytes));
  return entry;
}

Header read_header(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ModelError(path, "", path_problem(path));
  if (fs::is_directory(path, ec)) throw ModelError(path, "", "is a directory, not a file");
  const uint64_t file_bytes = fs::file_size(path, ec);
  if (ec) throw ModelError(path, "", "cannot read its size (" + ec.message() + ")");

  Header header;
  header.file.reset(std::fopen(path.c_str(), "rb"));
  if (!header.file) throw ModelError(path, "", "cannot open it for reading");
  unsigned char length_bytes[8];
  if (file_bytes < 8 || std::fread(length_bytes, 1, 8, header.file.get()) != 8)
    throw ModelError(path, "", "too short for a safetensors file (no 8-byte header length)");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | length_bytes[i];  // little-endian
  if (length > kMaxHeaderBytes || length > file_bytes - 8)
    throw ModelError(path, "",
                     "header length " + std::to_string(length) + " does not fit the file's " +
                         std::to_string(file_bytes) + " bytes (or the 100 MiB limit)");
  std::string text(length, '\0');
  if (std::fread(text.data(), 1, length, header.file.get()) != length)
    throw ModelError(path, "", "cannot read its " + std::to_string(length) + "-byte header");
  header.data_start = 8 + length;
  const uint64_t data_bytes = file_bytes - header.data_start;

  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) throw ModelError(path, "", "header is not a JSON object");
  for (const auto& [name, info] : json.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw ModelError(path, "", "__metadata__ is not an object");
      for (const auto& [key, value] : info.items()) {
        if (!value.is_string())
          throw ModelError(path, "", "__metadata__ value of '" + key + "' is not a string");
        header.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    header.entries.push_back(parse_entry(path, name, info, data_bytes));
  }
  // The ranges must tile [0, data_bytes): no byte read twice, none left unexplained.
  std::vector<const Entry*> by_offset;
  for (const Entry& entry : header.entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t next = 0;
  for (const Entry* entry : by_offset) {
    if (entry->begin != next)
      throw ModelError(path, entry->name,
                       entry->begin < next ? "its bytes overlap another tensor's"
                                           : "a gap of unexplained bytes lies before it");
    next = entry->end;
  }
  if (next != data_bytes)
    throw ModelError(path, "",
                     "the tensors end at data byte " + std::to_string(next) + " but the file has " +
                         std::to_string(data_bytes) + " data bytes");
  return header;
}

}  // namespace

StateDict read_safetensors(const std::string& path) {
  Header header = read_header(path);
  StateDict state;
  for (const Entry& entry : header.entries) {
    at::Tensor tensor = at::empty(entry.shape, at::TensorOptions().dtype(entry.type));
    const uint64_t bytes = entry.end - entry.begin;
    if (bytes > 0) {
      const uint64_t at_byte = header.data_start + entry.begin;
      if (at_byte > static_cast<uint64_t>(INT64_MAX) ||
          fseeko(header.file.get(), static_cast<off_t>(at_byte), SEEK_SET) != 0 ||
          std::fread(tensor.data_ptr(), 1, bytes, header.file.get()) != bytes)
        throw ModelError(path, entry.name, "cannot read its bytes (file changed or cut short?)");
    }
    state[entry.name] = tensor;
  }
  return state;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  return read_header(path).metadata;
}

void write_safetensors(const std::string& path, const StateDict& state,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> tensors;  // contiguous CPU copies (views where already so), name order
  size_t offset = 0;
  for (const auto& [name, stored] : state) {  // std::map: name order
    const at::Tensor tensor = stored.contiguous().cpu();
    const auto known =
        std::find_if(std::begin(kDtypes), std::end(kDtypes),
                     [&](const DtypeName& d) { return d.type == tensor.scalar_type(); });
    if (known == std::end(kDtypes))
      throw UsageError(path + ": tensor '" + name + "' has dtype " +
                       std::string(c10::toString(tensor.scalar_type())) +
                       ", which safetensors cannot store");
    const size_t bytes = tensor.numel() * tensor.element_size();
    header[name] = {{"dtype", known->name},
                    {"shape", tensor.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    tensors.push_back(tensor);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
  std::string length(8, '\0');
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  // Streamed: the tensors' bytes go to the file as they are, not through a second buffer the
  // size of the model.
  AtomicFileWriter file(path);
  file.write(length);
  file.write(text);
  for (const at::Tensor& tensor : tensors)
    file.write(std::string_view(static_cast<const char*>(tensor.data_ptr()),
                                tensor.numel() * tensor.element_size()));
  file.commit();
}

}  // namespace tagclip
