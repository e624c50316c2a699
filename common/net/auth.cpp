#include "net/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fstream>

#include "util/error.h"
#include "util/sha256.h"

namespace cfm::net {

std::string random_nonce() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw Error("OpenSSL could not produce random bytes for a nonce");
  return to_hex(bytes, sizeof bytes);
}

std::string hmac_sha256_hex(const std::string& token, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()), reinterpret_cast<const unsigned char*>(message.data()),
            message.size(), digest, &size))
    throw Error("OpenSSL HMAC-SHA256 failed");
  return to_hex(digest, size);
}

bool proof_matches(const std::string& token, const std::string& nonce, const std::string& proof) {
  std::string expected = hmac_sha256_hex(token, nonce);
  return proof.size() == expected.size() && CRYPTO_memcmp(proof.data(), expected.data(), expected.size()) == 0;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw FileError(path, "cannot read the token file");
  std::string line;
  std::getline(in, line);
  auto first = line.find_first_not_of(" \t\r\n"), last = line.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) throw FileError(path, "the token file is empty");
  return line.substr(first, last - first + 1);
}

}  // namespace cfm::net
