// Reading and writing a file whole. A write goes to a temporary beside the file, is flushed and checked,
// then renamed over it: a full disk or a missing folder is an error naming the file and the reason, never
// a silently empty or half-written file, and a reader sees the old file or the whole new one. Bytes are
// written as given (text, JSON, .npy arrays, checkpoints).
#pragma once

#include <cstddef>
#include <string>

namespace cfm {

// A temporary name beside `path` that no other call gets ("<path>.<16 hex>.partial"): processes writing the
// same file at once (jobs on several nodes sharing a disk) never write into each other's temporary, each
// rename is whole, and the last one wins.
std::string temporary_path_for(const std::string& path);

// Throws IoError(path, "cannot write: <strerror>") on any failure; the partial file is removed.
void write_whole_file(const std::string& path, const std::string& bytes);
void write_whole_file(const std::string& path, const char* bytes, std::size_t size);

// The file's bytes; IoError(path, "cannot read <what>: <strerror>") when it cannot be opened or read.
std::string read_whole_file(const std::string& path, const std::string& what = "the file");

}  // namespace cfm
