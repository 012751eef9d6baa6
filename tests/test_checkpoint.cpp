// Loading checkpoints: architecture inference and the errors a user sees for bad files.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/serialize.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "tagclip/errors.h"
#include "tagclip/model/checkpoint.h"
#include "tagclip/model/random_checkpoint.h"
#include "test_support.h"

namespace tagclip {
namespace {

RandomCheckpointSpec tiny_spec() {
  RandomCheckpointSpec spec;
  spec.vision_width = 64;
  spec.vision_layers = 3;
  spec.patch_size = 32;
  spec.grid_size = 7;
  spec.embed_dim = 32;
  spec.text_width = 64;
  spec.text_layers = 1;
  spec.vocab_size = 500;
  return spec;
}

// Writes tiny_spec() after `edit` and returns the path.
std::string write_edited(const std::string& name, const std::function<void(StateDict&)>& edit) {
  StateDict state = random_state_dict(tiny_spec());
  edit(state);
  const std::string path = testing::make_scratch_dir("checkpoint-errors") + "/" + name + ".pt";
  save_state_dict(state, path);
  return path;
}

// Expects load + infer to throw ModelError whose message names `path` and `needle`.
void expect_model_error(const std::string& path, const std::string& needle) {
  try {
    infer_architecture(load_state_dict(path), path);
    FAIL() << "no error for " << path;
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, InfersArchitectureFromShapes) {
  const std::string path = write_edited("ok", [](StateDict&) {});
  const ClipArchitecture arch = infer_architecture(load_state_dict(path), path);
  EXPECT_EQ(arch.vision_width, 64);
  EXPECT_EQ(arch.vision_layers, 3);
  EXPECT_EQ(arch.vision_heads, 1);
  EXPECT_EQ(arch.patch_size, 32);
  EXPECT_EQ(arch.grid_size, 7);
  EXPECT_EQ(arch.input_resolution, 224);
  EXPECT_EQ(arch.embed_dim, 32);
  EXPECT_EQ(arch.text_layers, 1);
  EXPECT_EQ(arch.text_heads, 1);
  EXPECT_EQ(arch.context_length, 77);
  EXPECT_EQ(arch.vocab_size, 500);
  EXPECT_EQ(arch.stored_dtype, "float16");
  EXPECT_EQ(arch.release_name(), "custom ViT");
}

TEST(Checkpoint, NamesReleasedShapes) {
  ClipArchitecture arch;
  arch.vision_width = 768;
  arch.vision_layers = 12;
  arch.patch_size = 16;
  arch.input_resolution = 224;
  EXPECT_EQ(arch.release_name(), "ViT-B/16");
  arch.vision_width = 1024;
  arch.vision_layers = 24;
  arch.patch_size = 14;
  arch.input_resolution = 336;
  EXPECT_EQ(arch.release_name(), "ViT-L/14@336px");
}

// An unknown tensor is read and ignored, and a missing input_resolution entry is inferred from
// the shapes: the architecture and every weight are those of the unedited checkpoint.
TEST(Checkpoint, ToleratesExtraEntries) {
  // write_edited empties its folder: read each file before writing the next.
  const std::string plain_path = write_edited("plain", [](StateDict&) {});
  const StateDict plain = load_state_dict(plain_path);
  const ClipArchitecture plain_arch = infer_architecture(plain, plain_path);
  const std::string path = write_edited("extra", [](StateDict& s) {
    s["some.unknown.tensor"] = at::zeros({3});
    s.erase("input_resolution");
  });
  const StateDict state = load_state_dict(path);
  EXPECT_EQ(state.count("some.unknown.tensor"), 1u);
  EXPECT_EQ(state.count("input_resolution"), 0u);
  const ClipArchitecture arch = infer_architecture(state, path);
  // parameter_count counts every floating-point tensor of the file, the unknown one too.
  EXPECT_EQ(arch.parameter_count, plain_arch.parameter_count + 3);
  nlohmann::json expected = plain_arch.to_json(), got = arch.to_json();
  expected.erase("parameters");
  got.erase("parameters");
  EXPECT_EQ(got, expected);
  EXPECT_EQ(arch.input_resolution, 224);
  EXPECT_EQ(arch.vision_layers, 3);
  for (const auto& [name, tensor] : plain) {
    if (name == "input_resolution") continue;
    ASSERT_EQ(state.count(name), 1u) << name;
    EXPECT_TRUE(state.at(name).equal(tensor)) << name;
  }
}

// The tests' checkpoint cache: one file per spec, whatever name the caller gives.
TEST(Checkpoint, TestCheckpointsAreCachedByTheirWholeSpec) {
  RandomCheckpointSpec other_seed = tiny_spec();
  other_seed.seed = 1;
  const std::string first = testing::random_checkpoint_path(tiny_spec(), "cached");
  const std::string second = testing::random_checkpoint_path(other_seed, "cached");
  EXPECT_NE(first, second);
  EXPECT_EQ(testing::random_checkpoint_path(tiny_spec(), "cached"), first);
  EXPECT_FALSE(
      load_state_dict(first).at("visual.proj").equal(load_state_dict(second).at("visual.proj")));
}

TEST(Checkpoint, MissingTensorIsNamed) {
  const std::string path = write_edited(
      "missing", [](StateDict& s) { s.erase("visual.transformer.resblocks.1.mlp.c_fc.bias"); });
  expect_model_error(path, "visual.transformer.resblocks.1.mlp.c_fc.bias");
}

TEST(Checkpoint, MisShapedTensorIsNamedWithShapes) {
  const std::string path = write_edited("misshaped", [](StateDict& s) {
    s["text_projection"] = at::zeros({64, 31}, at::kHalf);
    s["visual.ln_post.weight"] = at::zeros({65});
  });
  expect_model_error(path, "visual.ln_post.weight");
  expect_model_error(path, "[65]");
}

TEST(Checkpoint, ResNetClipIsRejected) {
  const std::string path = write_edited("resnet", [](StateDict& s) {
    s.erase("visual.proj");
    s["visual.layer1.0.conv1.weight"] = at::zeros({64, 64, 1, 1});
    s["visual.attnpool.c_proj.weight"] = at::zeros({32, 64});
  });
  expect_model_error(path, "ResNet");
}

TEST(Checkpoint, NotAnArchive) {
  const std::string dir = testing::make_scratch_dir("checkpoint-bad-files");
  const std::string text_file = dir + "/notes.pt";
  std::ofstream(text_file) << "this is not a checkpoint\n";
  expect_model_error(text_file, "not a TorchScript archive");
  const std::string empty_file = dir + "/empty.pt";
  std::ofstream{empty_file};
  expect_model_error(empty_file, "empty");
  expect_model_error(dir + "/absent.pt", "no such file");
  expect_model_error(dir, "directory");
}

// `loaded` holds exactly the tensors of `expected`, by name, with equal values.
void expect_same_tensors(const StateDict& loaded, const StateDict& expected,
                         const std::string& context) {
  ASSERT_EQ(loaded.size(), expected.size()) << context;
  for (const auto& [name, tensor] : expected) {
    ASSERT_TRUE(loaded.count(name)) << context << ": " << name;
    EXPECT_TRUE(at::equal(loaded.at(name), tensor)) << context << ": " << name;
  }
}

// Copies the archive `from` to `to`, passing each record through `edit(name, bytes)`, which
// returns true when it changed it (the zip stays readable, as a damaged disk leaves it).
// Returns how many records were changed.
int copy_archive_editing(const std::string& from, const std::string& to,
                         const std::function<bool(const std::string&, std::string&)>& edit) {
  caffe2::serialize::PyTorchStreamReader reader(from);
  caffe2::serialize::PyTorchStreamWriter writer(to);
  int edited = 0;
  for (const std::string& name : reader.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;  // the writer adds its own
    auto [data, size] = reader.getRecord(name);
    std::string bytes(static_cast<const char*>(data.get()), size);
    edited += edit(name, bytes) ? 1 : 0;
    writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
  return edited;
}

// The first tensor record of `bytes` bytes cut to `keep` bytes.
void copy_with_record_cut(const std::string& from, const std::string& to, size_t bytes,
                          size_t keep) {
  bool cut = false;
  copy_archive_editing(from, to, [&](const std::string& name, std::string& data) {
    if (cut || name.rfind("data/", 0) != 0 || data.size() != bytes) return false;
    data.resize(keep);
    return cut = true;
  });
  ASSERT_TRUE(cut) << "no record of " << bytes << " bytes in " << from;
}

// A record shorter than its tensor used to be read past its end (SIGSEGV in tag and eval)
// or, cut to half, as garbage (every score null). Each is now a load error naming the
// tensor, before any product runs.
TEST(Checkpoint, RecordCutShortIsNamedBeforeUse) {
  const std::string whole = write_edited("whole", [](StateDict&) {});
  const std::string dir = testing::make_scratch_dir("checkpoint-cut-records");
  const size_t token_table = 500 * 64 * 2;  // token_embedding.weight, fp16: a unique size
  for (const size_t keep : {size_t{0}, size_t{16}, token_table / 2, token_table - 1}) {
    const std::string cut = dir + "/token-table-" + std::to_string(keep) + ".pt";
    copy_with_record_cut(whole, cut, token_table, keep);
    expect_model_error(cut, "tensor 'token_embedding.weight': damaged: its record holds " +
                                std::to_string(keep) +
                                " bytes, but its storage declares 64000 (a record cut short?)");
  }
  // A size many tensors share (64 x 64 fp16, e.g. attn.out_proj.weight): the tensor whose
  // record was cut is named, not only its size.
  const std::string shared = dir + "/shared-size.pt";
  copy_with_record_cut(whole, shared, 64 * 64 * 2, 100);
  expect_model_error(shared, "damaged: its record holds 100 bytes, but its storage declares 8192");
  // The copy itself is sound when nothing is cut.
  const std::string intact = dir + "/intact.pt";
  copy_with_record_cut(whole, intact, token_table, token_table);
  EXPECT_NO_THROW(infer_architecture(load_state_dict(intact), intact));
}

TEST(Checkpoint, TagWithACutRecordExitsThreeNamingTheFile) {
  const RandomCheckpointSpec& spec = testing::fidelity_spec();
  const std::string cut = testing::make_scratch_dir("checkpoint-cut-tag") + "/cut.pt";
  const auto token_table = static_cast<size_t>(spec.vocab_size * spec.text_width * 2);  // fp16
  copy_with_record_cut(testing::fidelity_checkpoint_path(), cut, token_table, 0);
  const auto result =
      testing::run_command(testing::tagclip_binary() + " tag --no-cache --model " + cut + " " +
                           testing::data_path("images/squirrel_small.jpg"));
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_NE(result.err.find(cut + ": tensor 'token_embedding.weight': damaged"), std::string::npos)
      << result.err;
  EXPECT_TRUE(result.out.empty()) << result.out;
}

// tagclip reads only an archive's pickled data and tensor records, never its TorchScript
// code: LibTorch 1.13's compiler overflowed its stack (SIGSEGV, no message, in every
// command) on a code record whose class constant the checkpoint fuzzer had changed, and
// refused code it could not parse. Damaged code now loads the same weights as intact code.
TEST(Checkpoint, TorchScriptCodeIsNeverCompiled) {
  const std::string whole = write_edited("code", [](StateDict&) {});
  const std::string folder = testing::make_scratch_dir("checkpoint-code");
  const std::map<std::string, std::function<void(std::string&)>> damages = {
      {"class-constant.pt",  // the fuzzer's edit: "__parameters__ =" -> "__parameters__1="
       [](std::string& code) {
         const size_t at = code.find("__parameters__ =");
         if (at != std::string::npos) code.replace(at, 16, "__parameters__1=");
       }},
      {"syntax-error.pt", [](std::string& code) { code = "x = )\n" + code; }},
  };
  const StateDict expected = load_state_dict(whole);
  for (const auto& entry : damages) {  // not a structured binding: clang 14 cannot capture one
    const std::string& name = entry.first;
    const std::function<void(std::string&)>& damage = entry.second;
    const std::string broken = folder + "/" + name;
    const int edited =
        copy_archive_editing(whole, broken, [&](const std::string& record, std::string& data) {
          if (record.rfind("code/", 0) != 0 || record.size() < 3 ||
              record.substr(record.size() - 3) != ".py")
            return false;
          const std::string before = data;
          damage(data);
          return data != before;
        });
    ASSERT_GT(edited, 0) << name << ": no code record was changed";
    expect_same_tensors(load_state_dict(broken), expected, name);
    const auto result = testing::run_command(testing::tagclip_binary() + " info --model " + broken);
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.err;
  }
}

// LibTorch's unpickler allocated the length a string opcode declares before reading it: a
// damaged data.pkl declaring a 4 GiB string took 4.3 GB of memory before failing (found by
// the checkpoint fuzzer). The declared lengths are now checked against the record first.
TEST(Checkpoint, PickleLengthPastItsEndIsRefusedBeforeAllocating) {
  const std::string whole = write_edited("pickle-length", [](StateDict&) {});
  const std::string broken = testing::make_scratch_dir("checkpoint-pickle-length") + "/long.pt";
  // BINUNICODE 'X' with a 4-byte little-endian length: the root module's "logit_scale" key.
  const std::string key = std::string("X\x0b\x00\x00\x00", 5) + "logit_scale";
  const int edited =
      copy_archive_editing(whole, broken, [&](const std::string& record, std::string& data) {
        const size_t at = data.find(key);
        if (record != "data.pkl" || at == std::string::npos) return false;
        data.replace(at + 1, 4, std::string("\xf0\xff\xff\xff", 4));  // 4294967280 bytes
        return true;
      });
  ASSERT_EQ(edited, 1) << "no BINUNICODE \"logit_scale\" in data.pkl";
  expect_model_error(broken, "damaged data.pkl: the opcode at byte ");
  expect_model_error(broken, "declares 4294967280 bytes, but only ");
}

// LibTorch's unpickler takes a storage's element type as any integer on the stack and
// divides by its element size: a data.pkl whose storage type was the integer 18 (the
// undefined type, element size 0) stopped every command with SIGFPE, and a class name
// there gave a tensor of whatever type its index named (found by the checkpoint fuzzer).
// A persistent load must name a torch.<Type>Storage class.
TEST(Checkpoint, StorageWithoutAStorageTypeIsRefused) {
  const std::string whole = write_edited("storage-type", [](StateDict&) {});
  const std::string dir = testing::make_scratch_dir("checkpoint-storage-type");
  const std::pair<std::string, std::string> replacements[] = {
      {"integer", std::string("K\x12", 2)},  // BININT1 18
      {"class", "c__torch__\nSomething\n"},  // GLOBAL of a module class
      {"quantized", "ctorch\nQInt8Storage\n"},
  };
  for (const auto& replacement : replacements) {
    const std::string broken = dir + "/" + replacement.first + ".pt";
    const int edited =
        copy_archive_editing(whole, broken, [&](const std::string& record, std::string& data) {
          const size_t at = record == "data.pkl" ? data.find("ctorch\n") : std::string::npos;
          if (at == std::string::npos) return false;
          const size_t line_end = data.find('\n', at + 7);  // the end of the class name's line
          if (line_end == std::string::npos) return false;
          data.replace(at, line_end + 1 - at, replacement.second);
          return true;
        });
    ASSERT_EQ(edited, 1) << "no torch global in data.pkl";
    expect_model_error(broken, "loads a tensor storage that is not named by a 5-item tuple");
  }
}

// A stored view that repeats elements (stride 0) passes the record checks, but every copy
// of it (the fingerprint, the cast to float) would be as large as its shape: 2 GB here from
// a 2-byte storage. Refused before anything allocates for it.
TEST(Checkpoint, ViewLargerThanItsStorageIsRefused) {
  const std::string path = write_edited("repeated", [](StateDict& state) {
    state["extra.repeated"] = at::zeros({1}, at::kHalf).expand({1000000, 1000});
  });
  expect_model_error(path,
                     "tensor 'extra.repeated': damaged: shape [1000000, 1000] of Half is larger "
                     "than its storage's 2 bytes");
}

// The archive reader keeps every parameter and buffer the TorchScript loader gave, by the
// same names (the committed demo model, saved by PyTorch's own torch.jit.save).
TEST(Checkpoint, ReadsTheTensorsTheTorchScriptLoaderGives) {
  const std::string path = testing::committed_file("models/demo-clip.pt");
  torch::jit::Module module = torch::jit::load(path);
  StateDict expected;
  for (const auto& param : module.named_parameters(/*recurse=*/true))
    expected[param.name] = param.value;
  for (const auto& buffer : module.named_buffers(/*recurse=*/true))
    expected[buffer.name] = buffer.value;
  std::string format;
  const StateDict loaded = load_state_dict(path, &format);
  EXPECT_EQ(format, "TorchScript");
  expect_same_tensors(loaded, expected, path);
}

// Inputs the checkpoint fuzzer found (scripts/fuzz.sh), kept in tests/data/fuzz/checkpoint:
// each is a ModelError.
// - zip-directory-past-the-end: LibTorch's in-memory zip reader copied past its buffer
//   (heap-buffer-overflow under AddressSanitizer) on the torch.save path.
// - storage-declares-more-than-its-record: a storage declaring 24576 bytes over a 128-byte
//   record passed the old check, which matched records to storages by size only, and the
//   fingerprint read past the record (heap-buffer-overflow).
// - memo-index-far-ahead: LONG_BINPUT 1718840929 made the unpickler grow its memo table to
//   27 GB (out of memory).
// - build-on-an-empty-stack: data.pkl's first opcode after PROTO is BUILD; LibTorch's
//   unpickler read before its stack's start (SIGSEGV, exit 139 from every command).
TEST(Checkpoint, FuzzerFindingsAreModelErrors) {
  const std::string folder = testing::data_path("fuzz/checkpoint");
  int inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    ++inputs;
    EXPECT_THROW(infer_architecture(load_state_dict(entry.path()), entry.path()), ModelError)
        << entry.path();
  }
  EXPECT_GT(inputs, 0);
}

// A torch.save'd dict of tensors (no TorchScript code) loads like the archive it came from.
TEST(Checkpoint, PickledStateDictLoads) {
  const StateDict state = random_state_dict(tiny_spec());
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : state) dict.insert(name, tensor);
  const std::vector<char> bytes = torch::pickle_save(dict);
  const std::string path = testing::make_scratch_dir("checkpoint-pickled") + "/state.pt";
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  expect_same_tensors(load_state_dict(path), state, path);
}

TEST(Checkpoint, WidenedWeightsEqualStoredHalves) {
  const std::string path = write_edited("widen", [](StateDict&) {});
  const StateDict state = load_state_dict(path);
  const at::Tensor stored = state.at("visual.proj");
  EXPECT_EQ(stored.scalar_type(), at::kHalf);
  EXPECT_TRUE(at::equal(stored.to(at::kFloat).to(at::kHalf), stored));
}

TEST(InfoCommand, PrintsArchitectureAsJson) {
  const std::string path = write_edited("info", [](StateDict&) {});
  const auto result =
      testing::run_command(testing::tagclip_binary() + " info --json --model " + path);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json info = nlohmann::json::parse(result.out);
  EXPECT_EQ(info["vision"]["width"], 64);
  EXPECT_EQ(info["vision"]["layers"], 3);
  EXPECT_EQ(info["vision"]["heads"], 1);
  EXPECT_EQ(info["vision"]["patch_size"], 32);
  EXPECT_EQ(info["vision"]["input_resolution"], 224);
  EXPECT_EQ(info["text"]["context_length"], 77);
  EXPECT_EQ(info["text"]["vocab_size"], 500);
  EXPECT_EQ(info["embed_dim"], 32);
  EXPECT_EQ(info["stored_dtype"], "float16");
  EXPECT_GT(info["parameters"].get<int64_t>(), 0);
}

TEST(InfoCommand, TableNamesEveryField) {
  const std::string path = write_edited("info-table", [](StateDict&) {});
  const auto result = testing::run_command(testing::tagclip_binary() + " info --model " + path);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  for (const char* field : {"width 64", "layers 3", "heads 1", "patch 32", "input 224x224",
                            "embedding size    32", "context 77", "vocabulary 500", "float16"})
    EXPECT_NE(result.out.find(field), std::string::npos) << field << "\n" << result.out;
}

TEST(InfoCommand, BadModelExitsThreeWithOneLine) {
  const std::string dir = testing::make_scratch_dir("info-bad");
  std::ofstream(dir + "/bad.pt") << "garbage";
  const auto result =
      testing::run_command(testing::tagclip_binary() + " info --model " + dir + "/bad.pt");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find(dir + "/bad.pt"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("frame #"), std::string::npos) << "stack trace leaked: " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

TEST(InfoCommand, UnknownOptionIsUsageError) {
  const auto result = testing::run_command(testing::tagclip_binary() + " info --no-such-option");
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace tagclip
