// Errors raised by cfm. User and runtime errors are exceptions that say what was wrong and where;
// internal invariants use CFM_ASSERT, which aborts with the expression and location.
#pragma once

#include <stdexcept>
#include <string>

namespace cfm {

// Base of every error cfm reports to a user. The message is complete and printable as one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Wrong command-line usage or configuration value.
class UsageError : public Error {
 public:
  using Error::Error;
};

// An error tied to one file: the path, and what was expected of it.
class FileError : public Error {
 public:
  FileError(std::string path, const std::string& problem)
      : Error(path + ": " + problem), path_(std::move(path)), problem_(problem) {}
  const std::string& path() const { return path_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

// The file (or folder) is missing or cannot be opened / written.
class IoError : public FileError {
 public:
  using FileError::FileError;
};

// The file exists but its content is not what cfm expects: truncated, wrong channel count or sample type.
class FormatError : public FileError {
 public:
  using FileError::FileError;
};

// The content is readable but unusable as data: size mismatch between modalities, an empty point cloud,
// NaN or Inf coordinates.
class DataError : public FileError {
 public:
  using FileError::FileError;
};

[[noreturn]] void assertion_failed(const char* expression, const char* function, const char* file, int line);

}  // namespace cfm

#define CFM_ASSERT(expression) \
  ((expression) ? static_cast<void>(0) : ::cfm::assertion_failed(#expression, __func__, __FILE__, __LINE__))
