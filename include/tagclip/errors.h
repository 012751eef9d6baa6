// Typed errors thrown by the tagclip library. Each carries the file (or prompt, or
// tensor) it is about, so the command line can print one clear line and exit non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace tagclip {

// Base of every error the library throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A checkpoint that cannot be used: not a TorchScript archive, a ResNet CLIP, a missing
// or mis-shaped tensor. `path()` is the file, `tensor()` the entry's name (may be empty).
class ModelError : public Error {
 public:
  ModelError(std::string path, std::string tensor, const std::string& problem)
      : Error(path + (tensor.empty() ? "" : ": tensor '" + tensor + "'") + ": " + problem),
        path_(std::move(path)),
        tensor_(std::move(tensor)) {}
  const std::string& path() const { return path_; }
  const std::string& tensor() const { return tensor_; }

 private:
  std::string path_;
  std::string tensor_;
};

// An image that cannot be read or decoded.
class ImageError : public Error {
 public:
  ImageError(std::string path, std::string problem)
      : Error(path + ": " + problem), path_(std::move(path)), problem_(std::move(problem)) {}
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

// The BPE vocabulary file is unusable, or a prompt cannot be tokenized.
class TokenizerError : public Error {
 public:
  using Error::Error;
};

// A class list, background list or template file is malformed.
class VocabularyError : public Error {
 public:
  using Error::Error;
};

// A text-embedding cache entry is damaged or cannot be written.
class CacheError : public Error {
 public:
  using Error::Error;
};

// An output file that could not be written whole: a full disk, a folder that went away, a
// quota. `tagclip` exits 4 for it, so a script tells it from a model that failed to load.
class OutputError : public Error {
 public:
  using Error::Error;
};

// A bad option value (device string, thread count, ...).
class UsageError : public Error {
 public:
  using Error::Error;
};

// A bad value of one configuration field (TaggerConfig's `option()`, e.g. "vote_count"), so a
// front end can name its own spelling of it (the command line's --vote-count).
class OptionError : public UsageError {
 public:
  OptionError(std::string option, std::string problem)
      : UsageError(option + ": " + problem),
        option_(std::move(option)),
        problem_(std::move(problem)) {}
  const std::string& option() const { return option_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string option_;
  std::string problem_;
};

// A broken tensor precondition inside a stage: a shape, grid or index that the caller got
// wrong. The message gives the shapes involved. A program bug, not a user's mistake.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Why an image could not be tagged, without its path (which ImageError carries as data):
// the problem of an ImageError, else the first line of any other exception's message.
std::string image_problem(const std::exception& error);

}  // namespace tagclip
