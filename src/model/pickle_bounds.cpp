#include "pickle_bounds.h"

#include <cstdint>
#include <vector>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// How an opcode's argument is laid out (pickletools' argument descriptors).
enum class Argument {
  kNone,
  kFixed,     // `size` bytes
  kLine,      // up to and including '\n'
  kTwoLines,  // GLOBAL and INST: module and name, each a line
  kCounted,   // a `size`-byte little-endian count, then that many bytes
};

// What an opcode does to the unpickler's stack. LibTorch keeps marks apart from the stack
// (a list of stack depths) and trusts both: BUILD on an empty stack read before the
// stack's start (SIGSEGV, found by the checkpoint fuzzer).
enum class Marks {
  kNone,
  kPush,           // MARK: remembers the depth
  kPopTo,          // DICT, LIST, TUPLE, ...: takes everything above the last mark
  kPopToOntoItem,  // APPENDS, SETITEMS, ADDITEMS: the same, into the item below the mark
};

struct Opcode {
  bool known = false;
  Argument argument = Argument::kNone;
  int size = 0;    // kFixed: argument bytes; kCounted: bytes of the count
  int pops = 0;    // items taken (after the mark, for kPopTo: none)
  int pushes = 0;  // items left
  Marks marks = Marks::kNone;
};

// The pickle protocols' opcodes (0 to 5), as pickletools describes them. One line per
// opcode family reads as the table it is.
// clang-format off
Opcode opcode_of(unsigned char code) {
  const auto plain = [](int pops, int pushes) {
    return Opcode{true, Argument::kNone, 0, pops, pushes, Marks::kNone};
  };
  const auto fixed = [](int size, int pops, int pushes) {
    return Opcode{true, Argument::kFixed, size, pops, pushes, Marks::kNone};
  };
  const auto line = [](int pops, int pushes) {
    return Opcode{true, Argument::kLine, 0, pops, pushes, Marks::kNone};
  };
  const auto counted = [](int size) {
    return Opcode{true, Argument::kCounted, size, 0, 1, Marks::kNone};
  };
  const auto to_mark = [](Marks marks, int pushes, Argument argument = Argument::kNone) {
    return Opcode{true, argument, 0, 0, pushes, marks};
  };
  switch (code) {
    case '(': return Opcode{true, Argument::kNone, 0, 0, 0, Marks::kPush};  // MARK
    case '.': return plain(1, 0);                                          // STOP
    case '0': return plain(1, 0);                                          // POP
    case '1': return to_mark(Marks::kPopTo, 0);                            // POP_MARK
    case '2': return plain(1, 2);                                          // DUP
    case 'F': case 'I': case 'L': case 'S': case 'V': case 'g': return line(0, 1);
    case 'P': return line(0, 1);                                           // PERSID
    case 'p': return line(1, 1);                                           // PUT
    case 'J': case 'j': return fixed(4, 0, 1);                             // BININT, LONG_BINGET
    case 'K': case 'h': return fixed(1, 0, 1);                             // BININT1, BINGET
    case 'M': return fixed(2, 0, 1);                                       // BININT2
    case 'G': return fixed(8, 0, 1);                                       // BINFLOAT
    case 'q': return fixed(1, 1, 1);                                       // BINPUT
    case 'r': return fixed(4, 1, 1);                                       // LONG_BINPUT
    case 'N': case '}': case ']': case ')': case 0x88: case 0x89: case 0x8f: case 0x97:
      return plain(0, 1);  // NONE, EMPTY_*, NEWTRUE, NEWFALSE, NEXT_BUFFER
    case 'Q': case 0x85: case 0x98: case 0x94: return plain(1, 1);  // BINPERSID, TUPLE1, ...
    case 'R': case 0x81: case 0x86: case 0x93: return plain(2, 1);  // REDUCE, NEWOBJ, ...
    case 0x87: case 0x92: return plain(3, 1);                       // TUPLE3, NEWOBJ_EX
    case 'a': case 'b': return plain(2, 1);                         // APPEND, BUILD
    case 's': return plain(3, 1);                                   // SETITEM
    case 'c': return Opcode{true, Argument::kTwoLines, 0, 0, 1, Marks::kNone};  // GLOBAL
    case 'i': return to_mark(Marks::kPopTo, 1, Argument::kTwoLines);            // INST
    case 'd': case 'l': case 't': case 'o': case 0x91: return to_mark(Marks::kPopTo, 1);
    case 'e': case 'u': case 0x90: return to_mark(Marks::kPopToOntoItem, 0);
    case 0x80: return fixed(1, 0, 0);                      // PROTO
    case 0x95: return fixed(8, 0, 0);                      // FRAME
    case 0x82: return fixed(1, 0, 1);                      // EXT1
    case 0x83: return fixed(2, 0, 1);                      // EXT2
    case 0x84: return fixed(4, 0, 1);                      // EXT4
    case 'U': case 'C': case 0x8a: case 0x8c: return counted(1);
    case 'T': case 'X': case 'B': case 0x8b: return counted(4);
    case 0x8d: case 0x8e: case 0x96: return counted(8);
    default: return {};
  }
}
// clang-format on

// The little-endian unsigned integer of `bytes` bytes at `at`.
uint64_t little_endian(const std::string& data, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(data[at + i]);
  return value;
}

// What the walk knows of a stack or memo item: enough to tell whether a persistent load
// (BINPERSID) names a storage type. LibTorch reads the type as any integer on the stack and
// divides by its element size: an integer 18 (the undefined type) stopped every command with
// SIGFPE (found by the checkpoint fuzzer in CI).
enum class Item : uint8_t {
  kOther,
  kStorageType,       // GLOBAL torch.<T>Storage, T a plain (not quantized) element type
  kStorageReference,  // a 5-tuple whose second item is a kStorageType
};

// The storage classes torch.jit.save and torch.save write for plain element types
// (c10::ScalarType's names). Quantized ones are left out: no CLIP checkpoint holds them,
// and LibTorch builds their tensors by another path.
bool is_plain_storage_class(const std::string& module, const std::string& name) {
  static const char* const kTypes[] = {
      "Byte",   "Char",        "Short",        "Int",           "Long", "Half",    "Float",
      "Double", "ComplexHalf", "ComplexFloat", "ComplexDouble", "Bool", "BFloat16"};
  if (module != "torch") return false;
  for (const char* type : kTypes)
    if (name == std::string(type) + "Storage") return true;
  return false;
}

}  // namespace

void check_pickle_bounds(const std::string& pickle, const std::string& path,
                         const std::string& record) {
  const size_t end = pickle.size();
  size_t at = 0;
  std::vector<Item> stack;    // the unpickler's stack, one entry per item
  std::vector<Item> memo;     // memo entries stored so far: the next may be at most size()
  std::vector<size_t> marks;  // stack depths at each open MARK
  std::vector<Item> taken;    // the items the current opcode takes
  const auto damaged = [&](size_t opcode_at, const std::string& what) {
    return ModelError(
        path, "",
        "damaged " + record + ": the opcode at byte " + std::to_string(opcode_at) + " " + what);
  };
  while (at < end) {
    const size_t opcode_at = at;
    const auto code = static_cast<unsigned char>(pickle[at++]);
    const Opcode opcode = opcode_of(code);
    if (!opcode.known) return;  // left to the unpickler to refuse
    const size_t argument_at = at;
    std::string lines[2];  // kLine and kTwoLines: the text before each '\n'
    switch (opcode.argument) {
      case Argument::kNone:
        break;
      case Argument::kFixed:
        if (end - at < static_cast<size_t>(opcode.size))
          throw damaged(opcode_at, "runs past the end of the pickle");
        at += opcode.size;
        break;
      case Argument::kLine:
      case Argument::kTwoLines:
        for (int line = 0; line < (opcode.argument == Argument::kLine ? 1 : 2); ++line) {
          const size_t newline = pickle.find('\n', at);
          if (newline == std::string::npos)
            throw damaged(opcode_at, "has a text argument with no end of line");
          lines[line] = pickle.substr(at, newline - at);
          at = newline + 1;
        }
        break;
      case Argument::kCounted: {
        if (end - at < static_cast<size_t>(opcode.size))
          throw damaged(opcode_at, "runs past the end of the pickle");
        const uint64_t length = little_endian(pickle, at, opcode.size);
        at += opcode.size;
        if (length > end - at)
          throw damaged(opcode_at, "declares " + std::to_string(length) + " bytes, but only " +
                                       std::to_string(end - at) + " follow");
        at += static_cast<size_t>(length);
        break;
      }
    }

    // The stack and the marks: `taken` gets the items above the mark (kPopTo) or the top
    // `pops` items, bottom first.
    taken.clear();
    if (opcode.marks == Marks::kPush) {
      marks.push_back(stack.size());
    } else if (opcode.marks != Marks::kNone) {
      if (marks.empty()) throw damaged(opcode_at, "pops to a mark, but no mark is open");
      const size_t mark = marks.back();
      marks.pop_back();
      if (mark > stack.size()) throw damaged(opcode_at, "pops to a mark below items already taken");
      if (opcode.marks == Marks::kPopToOntoItem && mark == 0)
        throw damaged(opcode_at, "adds items to a container, but the stack holds none");
      taken.assign(stack.begin() + static_cast<std::ptrdiff_t>(mark), stack.end());
      stack.resize(mark);
    }
    const auto pops = static_cast<size_t>(opcode.pops);
    if (stack.size() < pops)
      throw damaged(opcode_at, "takes " + std::to_string(pops) + " items from a stack of " +
                                   std::to_string(stack.size()));
    if (!marks.empty() && marks.back() > stack.size() - pops)
      throw damaged(opcode_at, "takes items from below an open mark");
    if (pops > 0) {
      taken.assign(stack.end() - static_cast<std::ptrdiff_t>(pops), stack.end());
      stack.resize(stack.size() - pops);
    }
    if (code == '.') return;  // STOP
    // PROTO other than 2: LibTorch refuses the pickle there ("Only Pickle protocol 2 is
    // supported"), a clearer message than one about what follows.
    if (code == 0x80 && static_cast<unsigned char>(pickle[argument_at]) != 2) return;

    // The memo: stores (BINPUT, LONG_BINPUT, PUT, MEMOIZE) and reads (BINGET, LONG_BINGET,
    // GET). Binary indices are little-endian, text ones decimal.
    const bool stores = code == 'q' || code == 'r' || code == 'p' || code == 0x94;
    const bool reads = code == 'h' || code == 'j' || code == 'g';
    uint64_t index = memo.size();
    if (code == 'q' || code == 'r' || code == 'h' || code == 'j') {
      index = little_endian(pickle, argument_at, opcode.size);
    } else if (code == 'p' || code == 'g') {
      const std::string& text = lines[0];
      const bool plain_index = !text.empty() && text.size() <= 18 &&
                               text.find_first_not_of("0123456789") == std::string::npos;
      index = plain_index ? std::stoull(text) : memo.size() + 1;  // else refused below
    }
    if (reads && index >= memo.size())
      throw damaged(opcode_at, "reads memo entry " + std::to_string(index) + " of only " +
                                   std::to_string(memo.size()));
    if (stores && index > memo.size())
      throw damaged(opcode_at, "stores memo entry " + std::to_string(index) + " after only " +
                                   std::to_string(memo.size()) + " entries");
    if (stores && index == memo.size()) memo.push_back(Item::kOther);
    if (stores) memo[index] = taken.back();  // PUT-like opcodes take and leave one item

    // What the opcode leaves: copies for DUP, the memo's and PUT's items, storage types and
    // references; anything else is kOther.
    if (code == 'Q' && taken.back() != Item::kStorageReference)
      throw damaged(opcode_at,
                    "loads a tensor storage that is not named by a 5-item tuple whose second "
                    "item is a torch.<Type>Storage class of a plain (not quantized) type");
    Item left = Item::kOther;
    if (code == '2' || stores) left = taken.back();
    if (reads) left = memo[index];
    if (code == 'c' && is_plain_storage_class(lines[0], lines[1])) left = Item::kStorageType;
    if (code == 't' && taken.size() == 5 && taken[1] == Item::kStorageType)
      left = Item::kStorageReference;
    stack.insert(stack.end(), static_cast<size_t>(opcode.pushes), left);
  }
}

}  // namespace tagclip
