// Writing a small text file (JSON, CSV, a script) so that a full disk or a missing folder is an error
// naming the file and the reason, never a silently empty or half-written file: the text goes to
// "<path>.partial", is flushed and checked, then renamed over `path` (a reader sees the old file or the
// whole new one).
#pragma once

#include <string>

namespace cfm {

// Throws IoError(path, "cannot write: <strerror>") on any failure; the partial file is removed.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace cfm
