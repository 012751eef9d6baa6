#include "tagclip/segment/npz.h"

#include <zlib.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

constexpr char kNpyMagic[] = "\x93NUMPY";
constexpr size_t kNpyMagicLength = 6;
constexpr size_t kNpyAlign = 64;             // numpy's ARRAY_ALIGN
constexpr size_t kGrowthAxisMaxDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfCentralDirectorySignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kMethodStored = 0, kMethodDeflate = 8;
// A fixed modification time (1980-01-01 00:00, the first DOS date): the same arrays give
// the same bytes, which the tests compare against a file numpy has read.
constexpr uint16_t kDosTime = 0, kDosDate = (1 << 5) | 1;

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int k = 0; k < bytes; ++k) out.push_back(static_cast<char>((value >> (8 * k)) & 0xff));
}

uint64_t get_le(const std::string& in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int k = bytes - 1; k >= 0; --k) value = (value << 8) | static_cast<uint8_t>(in[at + k]);
  return value;
}

uint32_t crc_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  for (size_t at = 0; at < bytes.size();) {
    const size_t piece = std::min<size_t>(bytes.size() - at, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(piece));
    at += piece;
  }
  return static_cast<uint32_t>(crc);
}

std::string shape_repr(const std::vector<int64_t>& shape) {
  // Python's repr of a tuple: (), (3,), (2, 3)
  std::string text = "(";
  for (size_t k = 0; k < shape.size(); ++k) text += (k ? ", " : "") + std::to_string(shape[k]);
  if (shape.size() == 1) text += ",";
  return text + ")";
}

void check_array(const NpyArray& array) {
  const int item = npy_item_size(array.descr);
  if (item == 0)
    throw ShapeError("npy array '" + array.name + "': unsupported dtype '" + array.descr + "'");
  for (int64_t d : array.shape)
    if (d < 0)
      throw ShapeError("npy array '" + array.name + "': negative dimension in shape " +
                       shape_repr(array.shape));
  const int64_t expected = npy_element_count(array.shape) * item;
  if (static_cast<int64_t>(array.bytes.size()) != expected)
    throw ShapeError("npy array '" + array.name + "': shape " + shape_repr(array.shape) + " of '" +
                     array.descr + "' needs " + std::to_string(expected) + " bytes, got " +
                     std::to_string(array.bytes.size()));
}

// --- reading ---------------------------------------------------------------------------

struct HeaderFields {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses the Python dict literal of an npy header: {'descr': '<f2', 'fortran_order': False,
// 'shape': (2, 3), }. Only these three keys and their literal kinds occur.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& where) : text_(text), where_(where) {}

  HeaderFields parse() {
    HeaderFields fields;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        fields.descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fields.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        fields.shape = tuple();
        have_shape = true;
      } else {
        fail("unexpected header key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') ++at_;
    }
    if (!have_descr || !have_order || !have_shape)
      fail("the header lacks 'descr', 'fortran_order' or 'shape'");
    return fields;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(where_ + ": malformed npy header (" + problem + ")");
  }
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a string");
    const size_t end = text_.find(quote, at_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string value = text_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    return value;
  }
  bool boolean() {
    if (text_.compare(at_, 4, "True") == 0) return at_ += 4, true;
    if (text_.compare(at_, 5, "False") == 0) return at_ += 5, false;
    fail("expected True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> values;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      int64_t value = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (value > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
        value = value * 10 + (text_[at_++] - '0');
      }
      while (peek() == 'L') ++at_;  // Python 2 longs
      values.push_back(value);
      skip_space();
      if (peek() == ',') ++at_;
    }
    ++at_;
    return values;
  }

  const std::string& text_;
  std::string where_;
  size_t at_ = 0;
};

NpyArray decode_npy(const std::string& npy, const std::string& name, const std::string& source) {
  const std::string where = source + ": array '" + name + "'";
  if (npy.size() < kNpyMagicLength + 4 || npy.compare(0, kNpyMagicLength, kNpyMagic) != 0)
    throw Error(where + ": not an npy array (no \\x93NUMPY magic)");
  const int major = static_cast<uint8_t>(npy[kNpyMagicLength]);
  size_t header_length = 0, header_at = 0;
  if (major == 1) {
    header_length = get_le(npy, kNpyMagicLength + 2, 2);
    header_at = kNpyMagicLength + 4;
  } else if (major == 2 || major == 3) {
    if (npy.size() < kNpyMagicLength + 6) throw Error(where + ": truncated npy header");
    header_length = get_le(npy, kNpyMagicLength + 2, 4);
    header_at = kNpyMagicLength + 6;
  } else {
    throw Error(where + ": unsupported npy format version " + std::to_string(major));
  }
  if (header_at + header_length > npy.size()) throw Error(where + ": truncated npy header");
  const std::string header = npy.substr(header_at, header_length);
  const HeaderFields fields = HeaderParser(header, where).parse();
  if (fields.fortran_order)
    throw Error(where + ": Fortran-order arrays are not supported (save a C-order array)");
  if (npy_item_size(fields.descr) == 0)
    throw Error(where + ": unsupported dtype '" + fields.descr +
                "' (supported: <i8, <i4, <f4, <f2, |u1)");
  NpyArray array{name, fields.descr, fields.shape, npy.substr(header_at + header_length)};
  const int64_t expected = npy_element_count(array.shape) * npy_item_size(array.descr);
  if (static_cast<int64_t>(array.bytes.size()) != expected)
    throw Error(where + ": shape " + shape_repr(array.shape) + " needs " +
                std::to_string(expected) + " bytes of data, the entry holds " +
                std::to_string(array.bytes.size()));
  return array;
}

std::string inflate_raw(const std::string& compressed, uint64_t size, const std::string& where) {
  std::string out(size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw Error(where + ": cannot start inflating");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  const uint64_t produced = stream.total_out;
  inflateEnd(&stream);
  if (status != Z_STREAM_END || produced != size) throw Error(where + ": damaged deflate data");
  return out;
}

}  // namespace

int npy_item_size(const std::string& descr) {
  if (descr == "<i8") return 8;
  if (descr == "<f4" || descr == "<i4") return 4;
  if (descr == "<f2") return 2;
  if (descr == "|u1") return 1;
  return 0;
}

int64_t npy_element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

std::string encode_npy(const NpyArray& array) {
  check_array(array);
  std::string header = "{'descr': '" + array.descr +
                       "', 'fortran_order': False, 'shape': " + shape_repr(array.shape) + ", }";
  // numpy leaves room to grow the first axis in place; the same spaces give numpy's bytes.
  if (!array.shape.empty())
    header.append(kGrowthAxisMaxDigits - std::to_string(array.shape[0]).size(), ' ');
  const size_t unpadded = kNpyMagicLength + 2 + 2 + header.size() + 1;
  header.append((kNpyAlign - unpadded % kNpyAlign) % kNpyAlign, ' ');
  header += '\n';
  std::string npy(kNpyMagic, kNpyMagicLength);
  npy += '\x01';
  npy += '\x00';
  put_le(npy, header.size(), 2);
  npy += header;
  npy += array.bytes;
  return npy;
}

std::string encode_npz(const std::vector<NpyArray>& arrays) {
  std::string zip, central;
  for (const NpyArray& array : arrays) {
    const std::string name = array.name + ".npy";
    const std::string npy = encode_npy(array);
    const uint32_t crc = crc_of(npy);
    if (npy.size() >= 0xffffffffu || zip.size() >= 0xffffffffu)
      throw Error("npz archive past 4 GiB: array '" + array.name + "' does not fit");
    const uint64_t offset = zip.size();
    put_le(zip, kLocalHeaderSignature, 4);
    put_le(zip, 20, 2);  // version needed: 2.0
    put_le(zip, 0, 2);   // flags
    put_le(zip, kMethodStored, 2);
    put_le(zip, kDosTime, 2);
    put_le(zip, kDosDate, 2);
    put_le(zip, crc, 4);
    put_le(zip, npy.size(), 4);
    put_le(zip, npy.size(), 4);
    put_le(zip, name.size(), 2);
    put_le(zip, 0, 2);  // extra field length
    zip += name;
    zip += npy;

    put_le(central, kCentralHeaderSignature, 4);
    put_le(central, 20, 2);  // made by: MS-DOS, zip 2.0
    put_le(central, 20, 2);
    put_le(central, 0, 2);
    put_le(central, kMethodStored, 2);
    put_le(central, kDosTime, 2);
    put_le(central, kDosDate, 2);
    put_le(central, crc, 4);
    put_le(central, npy.size(), 4);
    put_le(central, npy.size(), 4);
    put_le(central, name.size(), 2);
    put_le(central, 0, 2);  // extra
    put_le(central, 0, 2);  // comment
    put_le(central, 0, 2);  // disk
    put_le(central, 0, 2);  // internal attributes
    put_le(central, 0, 4);  // external attributes
    put_le(central, offset, 4);
    central += name;
  }
  if (zip.size() + central.size() >= 0xffffffffu || arrays.size() >= 0xffff)
    throw Error("npz archive past 4 GiB or 65535 arrays");
  const uint64_t central_at = zip.size();
  zip += central;
  put_le(zip, kEndOfCentralDirectorySignature, 4);
  put_le(zip, 0, 2);
  put_le(zip, 0, 2);
  put_le(zip, arrays.size(), 2);
  put_le(zip, arrays.size(), 2);
  put_le(zip, central.size(), 4);
  put_le(zip, central_at, 4);
  put_le(zip, 0, 2);  // comment length
  return zip;
}

std::vector<NpyArray> decode_npz(const std::string& bytes, const std::string& source) {
  auto damaged = [&](const std::string& problem) {
    return Error(source + ": not a readable npz (zip) file: " + problem);
  };
  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  constexpr size_t kEndRecordSize = 22;
  if (bytes.size() < kEndRecordSize) throw damaged("too short");
  size_t end_at = std::string::npos;
  const size_t lowest =
      bytes.size() > kEndRecordSize + 0xffff ? bytes.size() - kEndRecordSize - 0xffff : 0;
  for (size_t at = bytes.size() - kEndRecordSize + 1; at-- > lowest;)
    if (get_le(bytes, at, 4) == kEndOfCentralDirectorySignature) {
      end_at = at;
      break;
    }
  if (end_at == std::string::npos) throw damaged("no end-of-central-directory record");
  uint64_t entries = get_le(bytes, end_at + 10, 2);
  uint64_t central_size = get_le(bytes, end_at + 12, 4);
  uint64_t central_at = get_le(bytes, end_at + 16, 4);
  // Zip64: the locator sits just before the end record and points at the zip64 end record.
  if (end_at >= 20 && get_le(bytes, end_at - 20, 4) == kZip64LocatorSignature) {
    const uint64_t zip64_end = get_le(bytes, end_at - 20 + 8, 8);
    if (zip64_end + 56 > bytes.size() || get_le(bytes, zip64_end, 4) != kZip64EndSignature)
      throw damaged("bad zip64 end record");
    entries = get_le(bytes, zip64_end + 32, 8);
    central_size = get_le(bytes, zip64_end + 40, 8);
    central_at = get_le(bytes, zip64_end + 48, 8);
  }
  if (central_at + central_size > bytes.size()) throw damaged("central directory out of range");

  std::vector<NpyArray> arrays;
  size_t at = central_at;
  for (uint64_t k = 0; k < entries; ++k) {
    if (at + 46 > bytes.size() || get_le(bytes, at, 4) != kCentralHeaderSignature)
      throw damaged("bad central directory entry");
    const uint16_t flags = get_le(bytes, at + 8, 2);
    const uint16_t method = get_le(bytes, at + 10, 2);
    const uint32_t crc = get_le(bytes, at + 16, 4);
    uint64_t compressed_size = get_le(bytes, at + 20, 4);
    uint64_t size = get_le(bytes, at + 24, 4);
    const size_t name_length = get_le(bytes, at + 28, 2);
    const size_t extra_length = get_le(bytes, at + 30, 2);
    const size_t comment_length = get_le(bytes, at + 32, 2);
    uint64_t local_at = get_le(bytes, at + 42, 4);
    if (at + 46 + name_length + extra_length + comment_length > bytes.size())
      throw damaged("central directory entry out of range");
    std::string name = bytes.substr(at + 46, name_length);
    // Zip64 extra field: the 8-byte values of those fields that read 0xffffffff, in order.
    for (size_t e = at + 46 + name_length; e + 4 <= at + 46 + name_length + extra_length;) {
      const uint16_t id = get_le(bytes, e, 2);
      const uint16_t length = get_le(bytes, e + 2, 2);
      if (id == kZip64ExtraId) {
        size_t field = e + 4;
        for (uint64_t* value : {&size, &compressed_size, &local_at})
          if (*value == 0xffffffffu && field + 8 <= e + 4 + length) {
            *value = get_le(bytes, field, 8);
            field += 8;
          }
      }
      e += 4 + length;
    }
    at += 46 + name_length + extra_length + comment_length;

    if (flags & 1) throw damaged("entry '" + name + "' is encrypted");
    if (local_at + 30 > bytes.size() || get_le(bytes, local_at, 4) != kLocalHeaderSignature)
      throw damaged("bad local header of '" + name + "'");
    const size_t data_at =
        local_at + 30 + get_le(bytes, local_at + 26, 2) + get_le(bytes, local_at + 28, 2);
    if (data_at + compressed_size > bytes.size())
      throw damaged("entry '" + name + "' is truncated");
    const std::string stored = bytes.substr(data_at, compressed_size);
    std::string npy;
    if (method == kMethodStored) {
      if (compressed_size != size) throw damaged("stored entry '" + name + "' has two sizes");
      npy = stored;
    } else if (method == kMethodDeflate) {
      npy = inflate_raw(stored, size, source + ": entry '" + name + "'");
    } else {
      throw damaged("entry '" + name + "' uses compression method " + std::to_string(method) +
                    " (stored and deflate are supported)");
    }
    if (crc_of(npy) != crc) throw damaged("CRC-32 mismatch in entry '" + name + "'");
    // numpy.load names an array by its entry name without ".npy".
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    arrays.push_back(decode_npy(npy, name, source));
  }
  return arrays;
}

std::vector<NpyArray> read_npz(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open the file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot read the file");
  return decode_npz(bytes, path);
}

}  // namespace tagclip
