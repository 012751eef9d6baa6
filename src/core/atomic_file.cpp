#include "tagclip/core/atomic_file.h"

#include <unistd.h>

#include <array>
#include <filesystem>

#include "tagclip/errors.h"

namespace tagclip {
namespace {

// Host and pid keep two processes writing the same output (two shards' tasks sharing a cache
// on a network file system, say) from sharing a temporary file.
std::string temporary_name(const std::string& path) {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return path + ".tmp." + std::string(host.data()) + "." + std::to_string(::getpid());
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), temporary_(temporary_name(path_)) {
  out_.open(temporary_, std::ios::binary | std::ios::trunc);
  if (!out_)
    throw OutputError(path_ + ": cannot create the file (is the folder there and writable?)");
}

AtomicFileWriter::~AtomicFileWriter() {
  if (committed_) return;
  out_.close();
  std::error_code ec;
  std::filesystem::remove(temporary_, ec);
}

void AtomicFileWriter::write(std::string_view bytes) {
  out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void AtomicFileWriter::commit() {
  out_.flush();
  const bool written = static_cast<bool>(out_);
  out_.close();
  if (!written || out_.fail())
    throw OutputError(path_ +
                      ": cannot write the file (is the folder writable and the disk not full?)");
  std::error_code ec;
  std::filesystem::rename(temporary_, path_, ec);
  if (ec) throw OutputError(path_ + ": cannot move the finished file into place: " + ec.message());
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  AtomicFileWriter writer(path);
  writer.write(bytes);
  writer.commit();
}

}  // namespace tagclip
