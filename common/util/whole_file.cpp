#include "common/util/whole_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/util/error.h"
#include "common/util/random_hex.h"

namespace cfm {

std::string temporary_path_for(const std::string& path) { return path + "." + random_hex(8) + ".partial"; }

void write_whole_file(const std::string& path, const std::string& bytes) {
  write_whole_file(path, bytes.data(), bytes.size());
}

void write_whole_file(const std::string& path, const char* bytes, std::size_t size) {
  const std::string partial = temporary_path_for(path);
  errno = 0;
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes, static_cast<std::streamsize>(size));
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

std::string read_whole_file(const std::string& path, const std::string& what) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot read " + what + ": " + (errno ? std::strerror(errno) : "open failed"));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace cfm
