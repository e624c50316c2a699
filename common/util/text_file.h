// Writing a small text file (JSON, CSV, a script) so that a full disk or a missing folder is an error
// naming the file and the reason, never a silently empty or half-written file: the text goes to a
// temporary beside it, is flushed and checked, then renamed over `path` (a reader sees the old file or the
// whole new one).
#pragma once

#include <string>

namespace cfm {

// A temporary name beside `path` that no other call gets ("<path>.<16 hex>.partial"): processes writing the
// same file at once (jobs on several nodes sharing a disk) never write into each other's temporary, each
// rename is whole, and the last one wins.
std::string temporary_path_for(const std::string& path);

// Throws IoError(path, "cannot write: <strerror>") on any failure; the partial file is removed.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace cfm
