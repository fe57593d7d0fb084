#include <ringcast/ws/handshake/detail/sha1.hpp>

#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <string>

using namespace ringcast;

namespace {

std::string hex(const std::array<uint8_t, 20>& d) {
  static const char digits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::array<uint8_t, 20> openssl_sha1(std::string_view s) {
  std::array<uint8_t, 20> d{};
  unsigned n = 0;
  REQUIRE(EVP_Digest(s.data(), s.size(), d.data(), &n, EVP_sha1(), nullptr) == 1);
  return d;
}

}  // namespace

TEST_CASE("sha1: the FIPS 180 examples") {
  CHECK(hex(detail::sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex(detail::sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(hex(detail::sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST_CASE("sha1: every length across the padding's block boundaries, split anywhere, matches OpenSSL") {
  std::string text;
  for (int i = 0; i < 200; ++i) text += static_cast<char>('!' + (i * 7) % 90);
  for (size_t n = 0; n <= text.size(); ++n) {
    const std::string_view s(text.data(), n);
    const auto expected = openssl_sha1(s);
    for (size_t cut : {size_t{0}, n / 3, n}) {
      CAPTURE(n);
      CAPTURE(cut);
      CHECK(detail::sha1(s.substr(0, cut), s.substr(cut)) == expected);
    }
  }
}
