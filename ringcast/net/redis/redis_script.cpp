#include <ringcast/net/redis/redis_script.hpp>

#include <openssl/evp.h>

namespace ringcast {

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(source_.data(), source_.size(), digest, &n, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  sha1_.resize(2 * size_t{n});
  for (size_t i = 0; i < n; ++i) {
    sha1_[2 * i] = kHex[digest[i] >> 4];
    sha1_[2 * i + 1] = kHex[digest[i] & 0xf];
  }
}

}  // namespace ringcast
