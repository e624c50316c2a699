#include "common/util/text_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/util/error.h"
#include "common/util/random_hex.h"

namespace cfm {

std::string temporary_path_for(const std::string& path) { return path + "." + random_hex(8) + ".partial"; }

void write_text_file(const std::string& path, const std::string& text) {
  const std::string partial = temporary_path_for(path);
  errno = 0;
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (out) {
      out.close();
      if (!out.fail() && std::rename(partial.c_str(), path.c_str()) == 0) return;
    }
  }
  const std::string reason = errno ? std::strerror(errno) : "write failed";
  std::remove(partial.c_str());
  throw IoError(path, "cannot write: " + reason);
}

}  // namespace cfm
