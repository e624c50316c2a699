#include "common/util/random_hex.h"

#include <openssl/rand.h>

#include <vector>

#include "common/util/error.h"
#include "common/util/sha256.h"

namespace cfm {

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> data(bytes);
  if (RAND_bytes(data.data(), static_cast<int>(data.size())) != 1)
    throw Error("OpenSSL could not produce random bytes");
  return to_hex(data.data(), data.size());
}

}  // namespace cfm
