#include "pickle_bounds.h"

#include <cstdint>

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

struct Layout {
  Argument argument = Argument::kNone;
  int size = 0;
  bool known = false;
};

// clang-format off: one line per argument layout reads as the table it is.
Layout layout_of(unsigned char opcode) {
  switch (opcode) {
    // No argument.
    case '(':
    case '.':
    case '0':
    case '1':
    case '2':
    case 'N':
    case 'Q':
    case 'R':
    case 'a':
    case 'b':
    case 'd':
    case '}':
    case 'e':
    case 'l':
    case ']':
    case 'o':
    case 's':
    case 't':
    case ')':
    case 'u':
    case 0x81:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8f:
    case 0x90:
    case 0x91:
    case 0x92:
    case 0x93:
    case 0x94:
    case 0x97:
    case 0x98:
      return {Argument::kNone, 0, true};
    // Fixed-size arguments.
    case 'K':
    case 'h':
    case 'q':
    case 0x80:
    case 0x82:
      return {Argument::kFixed, 1, true};
    case 'M':
    case 0x83:
      return {Argument::kFixed, 2, true};
    case 'J':
    case 'j':
    case 'r':
    case 0x84:
      return {Argument::kFixed, 4, true};
    case 'G':
    case 0x95:
      return {Argument::kFixed, 8, true};  // BINFLOAT, FRAME
    // Text lines.
    case 'F':
    case 'I':
    case 'L':
    case 'P':
    case 'S':
    case 'V':
    case 'g':
    case 'p':
      return {Argument::kLine, 0, true};
    case 'c':
    case 'i':
      return {Argument::kTwoLines, 0, true};
    // Counted bytes: the lengths a damaged file can inflate.
    case 'U':
    case 0x8c:
    case 0x8a:
    case 'C':
      return {Argument::kCounted, 1, true};
    case 'T':
    case 'X':
    case 'B':
    case 0x8b:
      return {Argument::kCounted, 4, true};
    case 0x8d:
    case 0x8e:
    case 0x96:
      return {Argument::kCounted, 8, true};
    default:
      return {};
  }
}
// clang-format on

}  // namespace

void check_pickle_bounds(const std::string& pickle, const std::string& path,
                         const std::string& record) {
  const size_t end = pickle.size();
  size_t at = 0;
  uint64_t memo_entries = 0;  // memo indices stored so far: the next may be at most this
  const auto damaged = [&](size_t opcode_at, const std::string& what) {
    return ModelError(
        path, "",
        "damaged " + record + ": the opcode at byte " + std::to_string(opcode_at) + " " + what);
  };
  while (at < end) {
    const size_t opcode_at = at;
    const auto opcode = static_cast<unsigned char>(pickle[at++]);
    const Layout layout = layout_of(opcode);
    if (!layout.known || opcode == '.') return;  // STOP, or left to the unpickler to refuse
    const size_t argument_at = at;
    switch (layout.argument) {
      case Argument::kNone:
        break;
      case Argument::kFixed:
        if (end - at < static_cast<size_t>(layout.size))
          throw damaged(opcode_at, "runs past the end of the pickle");
        at += layout.size;
        break;
      case Argument::kLine:
      case Argument::kTwoLines:
        for (int line = 0; line < (layout.argument == Argument::kLine ? 1 : 2); ++line) {
          const size_t newline = pickle.find('\n', at);
          if (newline == std::string::npos)
            throw damaged(opcode_at, "has a text argument with no end of line");
          at = newline + 1;
        }
        break;
      case Argument::kCounted: {
        if (end - at < static_cast<size_t>(layout.size))
          throw damaged(opcode_at, "runs past the end of the pickle");
        uint64_t length = 0;
        for (int i = layout.size - 1; i >= 0; --i)
          length = (length << 8) | static_cast<unsigned char>(pickle[at + i]);
        at += layout.size;
        if (length > end - at)
          throw damaged(opcode_at, "declares " + std::to_string(length) + " bytes, but only " +
                                       std::to_string(end - at) + " follow");
        at += static_cast<size_t>(length);
        break;
      }
    }
    // BINPUT, LONG_BINPUT (little-endian index), PUT (decimal text), MEMOIZE (the next one).
    uint64_t index = memo_entries;
    bool stores = true;
    if (opcode == 'q' || opcode == 'r') {
      index = 0;
      for (size_t i = at; i-- > argument_at;)
        index = (index << 8) | static_cast<unsigned char>(pickle[i]);
    } else if (opcode == 'p') {
      const std::string text = pickle.substr(argument_at, at - 1 - argument_at);
      index = text.empty() || text.size() > 18 ||
                      text.find_first_not_of("0123456789") != std::string::npos
                  ? memo_entries + 1  // not a plain index: refused below as out of order
                  : std::stoull(text);
    } else if (opcode != 0x94) {
      stores = false;
    }
    if (stores) {
      if (index > memo_entries)
        throw damaged(opcode_at, "stores memo entry " + std::to_string(index) + " after only " +
                                     std::to_string(memo_entries) + " entries");
      if (index == memo_entries) ++memo_entries;
    }
  }
}

}  // namespace tagclip
