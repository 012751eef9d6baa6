#include "tagclip/model/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/serialization/unpickler.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "pickle_bounds.h"
#include "tagclip/core/path_problem.h"
#include "tagclip/core/sha256.h"
#include "tagclip/errors.h"

namespace tagclip {
namespace {

std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

// Every class a pickle names (a TorchScript module "__torch__.<name>", or a class in a
// torch.save file) becomes one opaque class whose objects keep their pickled state in their
// single slot. So the archive's code/ folder is never compiled: tagclip runs its own network
// and needs only the weights, and LibTorch 1.13's TorchScript compiler overflows its stack
// on some damaged code files (a SIGSEGV the checkpoint fuzzer found).
class OpaqueClasses {
 public:
  OpaqueClasses() {
    type_ = c10::ClassType::create(c10::QualifiedName("__tagclip__.Pickled"), unit_);
    type_->addAttribute("state", c10::AnyType::get());
    unit_->register_type(type_);
  }
  // Classes ("__torch__.…") are opaque; other names are container type tags that
  // torch::pickle_save writes ("Dict[str, Tensor]"), parsed as LibTorch does.
  torch::jit::TypeResolver resolver() const {
    return [this](const c10::QualifiedName& name) {
      if (name.prefix().rfind("__torch__", 0) == 0) return c10::StrongTypePtr(unit_, type_);
      return c10::StrongTypePtr(unit_,
                                torch::jit::Unpickler::defaultTypeParser(name.qualifiedName()));
    };
  }
  static torch::jit::ObjLoader loader() {
    return [](const at::StrongTypePtr& type, c10::IValue state) {
      auto object = c10::ivalue::Object::create(type, 1);
      object->setSlot(0, std::move(state));
      return object;
    };
  }

 private:
  std::shared_ptr<torch::jit::CompilationUnit> unit_ =
      std::make_shared<torch::jit::CompilationUnit>();
  c10::ClassTypePtr type_;
};

// A module's tensor attributes under "<prefix><attribute>", and its submodules' under
// "<prefix><attribute>.": its parameters and buffers, and any other tensor attribute a
// scripted module keeps (the towers ignore names they do not use). On the demo model, a
// scripted CLIP, they equal torch::jit::load's named_parameters and named_buffers (tested).
// Depth-capped: a crafted pickle may nest objects deeper than the stack allows.
void collect_module_tensors(const c10::IValue& module, const std::string& prefix, int depth,
                            StateDict& state, const std::string& path) {
  constexpr int kMaxDepth = 256;
  if (depth > kMaxDepth)
    throw ModelError(path, "", "modules nested deeper than " + std::to_string(kMaxDepth));
  const c10::IValue attributes = module.toObjectRef().getSlot(0);
  if (!attributes.isGenericDict()) return;  // an object with its own __getstate__: no weights
  for (const auto& entry : attributes.toGenericDict()) {
    if (!entry.key().isString()) continue;
    const std::string name = prefix + entry.key().toStringRef();
    if (entry.value().isTensor())
      state[name] = entry.value().toTensor();
    else if (entry.value().isObject())
      collect_module_tensors(entry.value(), name + ".", depth + 1, state, path);
  }
}

// A torch.save'd dict's tensors, or those of its "state_dict" entry (a training checkpoint:
// {"epoch": ..., "state_dict": {...}, "optimizer": {...}}).
StateDict dict_tensors(c10::Dict<c10::IValue, c10::IValue> dict) {
  const auto nested = dict.find(c10::IValue(std::string("state_dict")));
  if (nested != dict.end() && nested->value().isGenericDict())
    dict = nested->value().toGenericDict();
  StateDict state;
  for (const auto& entry : dict)
    if (entry.key().isString() && entry.value().isTensor())
      state[entry.key().toStringRef()] = entry.value().toTensor();
  return state;
}

// The first line of an exception's text that is not blank (some LibTorch messages start
// with a newline), without trailing spaces or colons.
std::string first_line(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, end - start);
    const size_t last = line.find_last_not_of(" \t\r:");
    if (last != std::string::npos) return line.substr(0, last + 1);
    start = end + 1;
  }
  return "no message";
}

// Number of distinct N in keys "<prefix>N.<anything>".
int64_t count_blocks(const StateDict& state, const std::string& prefix) {
  std::set<std::string> indices;
  for (const auto& [name, tensor] : state) {
    if (name.rfind(prefix, 0) != 0) continue;
    const auto dot = name.find('.', prefix.size());
    if (dot != std::string::npos) indices.insert(name.substr(prefix.size(), dot - prefix.size()));
  }
  return static_cast<int64_t>(indices.size());
}

const at::Tensor& find_tensor(const StateDict& state, const std::string& name,
                              const std::string& path) {
  const auto it = state.find(name);
  if (it == state.end()) throw ModelError(path, name, "missing from the checkpoint");
  return it->second;
}

int64_t dim_of(const StateDict& state, const std::string& name, int64_t dim, int64_t ndim,
               const std::string& path) {
  const at::Tensor& tensor = find_tensor(state, name, path);
  if (tensor.dim() != ndim)
    throw ModelError(path, name,
                     "expected " + std::to_string(ndim) + " dimensions, found shape " +
                         shape_string(tensor.sizes()));
  return tensor.size(dim);
}

// Checks every tensor a block needs, so a damaged file fails at load time by name.
void check_block(const StateDict& state, const std::string& prefix, int64_t width,
                 const std::string& path) {
  const int64_t hidden = dim_of(state, prefix + "mlp.c_fc.weight", 0, 2, path);
  require_tensor(state, prefix + "attn.in_proj_weight", {3 * width, width}, path);
  require_tensor(state, prefix + "attn.in_proj_bias", {3 * width}, path);
  require_tensor(state, prefix + "attn.out_proj.weight", {width, width}, path);
  require_tensor(state, prefix + "attn.out_proj.bias", {width}, path);
  require_tensor(state, prefix + "ln_1.weight", {width}, path);
  require_tensor(state, prefix + "ln_1.bias", {width}, path);
  require_tensor(state, prefix + "mlp.c_fc.weight", {hidden, width}, path);
  require_tensor(state, prefix + "mlp.c_fc.bias", {hidden}, path);
  require_tensor(state, prefix + "mlp.c_proj.weight", {width, hidden}, path);
  require_tensor(state, prefix + "mlp.c_proj.bias", {width}, path);
  require_tensor(state, prefix + "ln_2.weight", {width}, path);
  require_tensor(state, prefix + "ln_2.bias", {width}, path);
}

// Bytes each tensor record actually holds, by the address LibTorch loaded it to. The
// unpickler sizes a storage by what the pickle declares, not by its record, so a record cut
// short (or a declared size inflated) would be read past its end (SIGSEGV) or as garbage.
using RecordBytes = std::map<const void*, size_t>;

// a * b + c, or nullopt past int64_t: a damaged pickle may declare any shape and strides.
std::optional<int64_t> multiply_add(int64_t a, int64_t b, int64_t c) {
  int64_t product = 0, sum = 0;
  if (__builtin_mul_overflow(a, b, &product) || __builtin_add_overflow(product, c, &sum))
    return std::nullopt;
  return sum;
}

// Bytes a tensor's view reaches in its storage: (offset + the last element's index + 1)
// elements; nullopt when that overflows.
std::optional<int64_t> bytes_reached(const at::Tensor& tensor) {
  if (tensor.numel() == 0) return 0;
  std::optional<int64_t> last = tensor.storage_offset();
  for (int64_t d = 0; d < tensor.dim() && last; ++d)
    last = multiply_add(tensor.size(d) - 1, tensor.stride(d), *last);
  if (!last) return std::nullopt;
  return multiply_add(*last + 1, static_cast<int64_t>(tensor.element_size()), 0);
}

// Every tensor's storage must come from a record that holds the bytes its storage declares,
// and the declared bytes must hold what the tensor's shape, strides and dtype reach, and no
// fewer than its elements (a view that repeats elements, which no checkpoint stores, would
// make every later copy of it as large as the shape says). A damaged archive fails here by
// the tensor's name, before anything reads past a record's end or allocates for it.
void check_record_sizes(const StateDict& state, const RecordBytes& record_bytes,
                        const std::string& path) {
  for (const auto& [name, tensor] : state) {  // std::map: by name, so messages are stable
    const auto damaged = [&name = name, &path](const std::string& why) {
      return ModelError(path, name, "damaged: " + why);
    };
    if (!tensor.has_storage()) continue;
    const auto record = record_bytes.find(tensor.storage().data());
    if (record == record_bytes.end()) throw damaged("its storage comes from no tensor record");
    const auto declared = static_cast<int64_t>(tensor.storage().nbytes());
    if (static_cast<size_t>(declared) > record->second)
      throw damaged("its record holds " + std::to_string(record->second) +
                    " bytes, but its storage declares " + std::to_string(declared) +
                    " (a record cut short?)");
    const std::string shape = "shape " + shape_string(tensor.sizes()) + " of " +
                              std::string(c10::toString(tensor.scalar_type()));
    const std::optional<int64_t> needed = bytes_reached(tensor);
    if (!needed || *needed > declared)
      throw damaged("its storage declares " + std::to_string(declared) + " bytes, but " + shape +
                    " needs " + (needed ? std::to_string(*needed) : "more than 2^63"));
    const std::optional<int64_t> elements =
        multiply_add(tensor.numel(), static_cast<int64_t>(tensor.element_size()), 0);
    if (!elements || *elements > declared)
      throw damaged(shape + " is larger than its storage's " + std::to_string(declared) +
                    " bytes (a view that repeats elements)");
  }
}

// Both formats are a zip with data.pkl and the tensor records in data/. Read through the
// file, not a byte vector: LibTorch 1.13's vector reader copies past its end when a damaged
// zip directory asks it to (found by the checkpoint fuzzer), while its file reader stops at
// the end of the file. Each tensor is then checked against the record it was loaded from.
StateDict read_pickled_archive(const std::string& path, std::string* format) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  const auto [pickle, pickle_size] = reader.getRecord("data.pkl");
  const std::string pickle_bytes(static_cast<const char*>(pickle.get()), pickle_size);
  check_pickle_bounds(pickle_bytes, path, "data.pkl");
  size_t read = 0;
  const auto read_pickle = [&](char* buffer, size_t length) {
    length = std::min(length, pickle_bytes.size() - read);
    std::memcpy(buffer, pickle_bytes.data() + read, length);
    read += length;
    return length;
  };
  RecordBytes record_bytes;
  const auto read_record = [&](const std::string& key) {
    auto [data, size] = reader.getRecord("data/" + key);
    record_bytes[data.get()] = size;
    return std::move(data);
  };
  const OpaqueClasses classes;
  torch::jit::Unpickler unpickler(read_pickle, classes.resolver(), OpaqueClasses::loader(),
                                  read_record, c10::Device(c10::kCPU));
  unpickler.set_version(reader.version());
  const c10::IValue value = unpickler.parse_ivalue();
  StateDict state;
  if (value.isObject()) {
    collect_module_tensors(value, "", 0, state, path);
    if (format) *format = "TorchScript";
  } else if (value.isGenericDict()) {
    state = dict_tensors(value.toGenericDict());
    if (format) *format = "torch.save";
  } else {
    throw ModelError(path, "", "its pickle holds neither a module nor a dict of tensors");
  }
  check_record_sizes(state, record_bytes, path);
  return state;
}

}  // namespace

StateDict load_state_dict(const std::string& path, std::string* format) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw ModelError(path, "", path_problem(path));
  if (fs::is_directory(path, ec)) throw ModelError(path, "", "is a directory, not a checkpoint");
  if (fs::file_size(path, ec) == 0) throw ModelError(path, "", "file is empty");

  StateDict state;
  try {
    state = read_pickled_archive(path, format);
  } catch (const ModelError&) {
    throw;
  } catch (const std::exception& e) {
    // c10::Error from the zip reader and the unpickler; std exceptions (a version record
    // that is no number) from the code around them.
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    throw ModelError(path, "",
                     "not a TorchScript archive or a saved state dict (" +
                         first_line(c10_error ? c10_error->what_without_backtrace() : e.what()) +
                         ")");
  }
  if (state.empty()) throw ModelError(path, "", "the archive holds no tensors");
  return state;
}

std::string weights_fingerprint(const StateDict& state) {
  constexpr int64_t kBytesPerTensor = 4096;
  Sha256 hash;
  for (const auto& [name, stored] : state) {  // std::map: name order
    const at::Tensor tensor = stored.contiguous().cpu();
    hash.update(name + "|" + std::string(c10::toString(tensor.scalar_type())) + "|" +
                shape_string(tensor.sizes()) + "|");
    const int64_t bytes =
        std::min<int64_t>(kBytesPerTensor, tensor.numel() * tensor.element_size());
    if (bytes > 0) hash.update(tensor.data_ptr(), static_cast<size_t>(bytes));
  }
  return hash.hex_digest();
}

at::Tensor require_tensor(const StateDict& state, const std::string& name,
                          at::IntArrayRef expected_shape, const std::string& path) {
  const at::Tensor& tensor = find_tensor(state, name, path);
  if (tensor.sizes() != expected_shape)
    throw ModelError(path, name,
                     "expected shape " + shape_string(expected_shape) + ", found " +
                         shape_string(tensor.sizes()));
  if (!tensor.is_floating_point())
    throw ModelError(path, name,
                     "expected floating-point values, found " +
                         std::string(c10::toString(tensor.scalar_type())));
  return tensor;
}

ClipArchitecture infer_architecture(const StateDict& state, const std::string& path,
                                    const ArchitectureHints& hints) {
  if (state.count("visual.layer1.0.conv1.weight") || state.count("visual.attnpool.c_proj.weight"))
    throw ModelError(path, "", "this is a ResNet CLIP; tagclip needs a ViT checkpoint");
  if (!state.count("visual.proj"))
    throw ModelError(path, "visual.proj", "missing: not an OpenAI CLIP ViT checkpoint");

  ClipArchitecture arch;
  arch.vision_width = dim_of(state, "visual.conv1.weight", 0, 4, path);
  arch.patch_size = dim_of(state, "visual.conv1.weight", 3, 4, path);
  arch.vision_layers = count_blocks(state, "visual.transformer.resblocks.");
  const int64_t position_rows = dim_of(state, "visual.positional_embedding", 0, 2, path);
  arch.grid_size = std::llround(std::sqrt(static_cast<double>(position_rows - 1)));
  if (arch.grid_size * arch.grid_size + 1 != position_rows)
    throw ModelError(
        path, "visual.positional_embedding",
        "row count " + std::to_string(position_rows) + " is not a square grid plus one");
  arch.input_resolution = arch.patch_size * arch.grid_size;
  arch.embed_dim = dim_of(state, "text_projection", 1, 2, path);
  arch.context_length = dim_of(state, "positional_embedding", 0, 2, path);
  arch.vocab_size = dim_of(state, "token_embedding.weight", 0, 2, path);
  arch.text_width = dim_of(state, "ln_final.weight", 0, 1, path);
  arch.text_layers = count_blocks(state, "transformer.resblocks.");
  arch.vision_activation = hints.vision_activation;
  arch.text_activation = hints.text_activation;
  auto heads_of = [&](int64_t width, int64_t head_width, const char* tensor, const char* tower) {
    if (head_width < 1 || width % head_width != 0)
      throw ModelError(path, tensor,
                       std::string(tower) + " width " + std::to_string(width) +
                           " is not a multiple of the head width " + std::to_string(head_width) +
                           " (heads are width / head width)");
    return width / head_width;
  };
  arch.vision_heads =
      heads_of(arch.vision_width, hints.vision_head_width, "visual.conv1.weight", "vision");
  arch.text_heads = heads_of(arch.text_width, hints.text_head_width, "ln_final.weight", "text");
  if (arch.vision_layers < 1) throw ModelError(path, "visual.transformer.resblocks.0", "missing");
  if (arch.text_layers < 1) throw ModelError(path, "transformer.resblocks.0", "missing");

  const int64_t vw = arch.vision_width, tw = arch.text_width, e = arch.embed_dim;
  require_tensor(state, "visual.conv1.weight", {vw, 3, arch.patch_size, arch.patch_size}, path);
  require_tensor(state, "visual.class_embedding", {vw}, path);
  require_tensor(state, "visual.positional_embedding", {position_rows, vw}, path);
  require_tensor(state, "visual.ln_pre.weight", {vw}, path);
  require_tensor(state, "visual.ln_pre.bias", {vw}, path);
  require_tensor(state, "visual.ln_post.weight", {vw}, path);
  require_tensor(state, "visual.ln_post.bias", {vw}, path);
  require_tensor(state, "visual.proj", {vw, e}, path);
  for (int64_t i = 0; i < arch.vision_layers; ++i)
    check_block(state, "visual.transformer.resblocks." + std::to_string(i) + ".", vw, path);
  require_tensor(state, "token_embedding.weight", {arch.vocab_size, tw}, path);
  require_tensor(state, "positional_embedding", {arch.context_length, tw}, path);
  require_tensor(state, "ln_final.weight", {tw}, path);
  require_tensor(state, "ln_final.bias", {tw}, path);
  require_tensor(state, "text_projection", {tw, e}, path);
  require_tensor(state, "logit_scale", {}, path);
  for (int64_t i = 0; i < arch.text_layers; ++i)
    check_block(state, "transformer.resblocks." + std::to_string(i) + ".", tw, path);

  std::map<std::string, int64_t> elements_by_dtype;
  for (const auto& [name, tensor] : state) {
    if (!tensor.is_floating_point()) continue;
    arch.parameter_count += tensor.numel();
    elements_by_dtype[c10::toString(tensor.scalar_type())] += tensor.numel();
  }
  const auto most =
      std::max_element(elements_by_dtype.begin(), elements_by_dtype.end(),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  if (most != elements_by_dtype.end()) {
    const std::string name = most->first;  // "Half", "Float", ...
    arch.stored_dtype = name == "Half"       ? "float16"
                        : name == "Float"    ? "float32"
                        : name == "BFloat16" ? "bfloat16"
                        : name == "Double"   ? "float64"
                                             : name;
  }
  return arch;
}

}  // namespace tagclip
