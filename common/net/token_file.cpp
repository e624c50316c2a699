#include "common/net/token_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/error.h"
#include "common/util/random_hex.h"

namespace cfm::net {

void check_token_strength(const std::string& token, const std::string& origin) {
  if (token.size() < kMinTokenBytes)
    throw UsageError(
        fmt::format("{}: the token is {} bytes; use at least {} (`cfm token new FILE` makes a strong one)",
                    origin, token.size(), kMinTokenBytes));
}

namespace {

// Closes a POSIX descriptor on every path out.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string read_token_file(const std::string& path) {
  Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw IoError(path, std::string("cannot read the token file: ") + std::strerror(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0 || !S_ISREG(info.st_mode))
    throw IoError(path, "the token file is not a regular file");
  if (info.st_mode & 077)
    throw FileError(path,
                    fmt::format("the token file is readable by other users (mode {:04o}); run `chmod 600 {}`",
                                info.st_mode & 07777, path));
  std::string content(4096, '\0');
  ssize_t n = ::read(file.fd, content.data(), content.size());
  if (n < 0) throw IoError(path, std::string("cannot read the token file: ") + std::strerror(errno));
  content.resize(static_cast<std::size_t>(n));
  std::string line = content.substr(0, content.find('\n'));
  auto first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) throw FileError(path, "the token file is empty");
  std::string token = line.substr(first, last - first + 1);
  check_token_strength(token, path);
  return token;
}

void write_new_token_file(const std::string& path, bool replace) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (replace ? O_TRUNC : O_EXCL);
  Descriptor file{::open(path.c_str(), flags, 0600)};
  if (file.fd < 0)
    throw IoError(path, errno == EEXIST
                            ? std::string("the file exists (pass --force to replace it)")
                            : std::string("cannot create the token file: ") + std::strerror(errno));
  // O_CREAT's mode only applies to a new file: an existing one being replaced gets 0600 here.
  if (::fchmod(file.fd, 0600) != 0)
    throw IoError(path, std::string("cannot set mode 0600: ") + std::strerror(errno));
  std::string line = random_hex(32) + "\n";
  if (::write(file.fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    throw IoError(path, std::string("cannot write the token: ") + std::strerror(errno));
}

}  // namespace cfm::net
