#include <ringcast/ws/deflate/detail/deflater.hpp>

#include <doctest/doctest.h>

#include <random>

#include <ringcast/ws/deflate/permessage_deflate.hpp>
#include "tests/support/deflate_test_support.hpp"

using namespace ringcast;
using ringcast::test::bytes;

namespace {

std::string shared_compress(SharedDeflater& d, std::string_view msg, std::uint8_t bits, DeflateResult* result = nullptr) {
  std::string out;
  const DeflateResult r = d.compress(msg, bits, out);
  if (result != nullptr) *result = r;
  return out;
}

// Inflates with a fresh strict zlib peer of `bits` window: every match must reach only into that window.
bool peer_decodes(std::string_view payload, int bits, std::string_view expect) {
  test::PeerInflater peer(bits, true);
  std::string out;
  return peer.inflate_message(payload, out) && out == expect;
}

}  // namespace

TEST_CASE("RFC 7692 7.2.3.1: zlib compresses Hello to f2 48 cd c9 c9 07 00") {
  for (const int level : {1, 6, 9}) {
    SharedDeflater d(level, DeflateEngine::zlib);
    CHECK(shared_compress(d, "Hello", 15) == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  }
}

TEST_CASE("RFC 7692 7.2.3.2: without context the second Hello compresses to the same bytes, with it to f2 00 11 00 00") {
  SharedDeflater shared(6, DeflateEngine::zlib);
  CHECK(shared_compress(shared, "Hello", 15) == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  CHECK(shared_compress(shared, "Hello", 15) == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));

  ContextDeflater dedicated;
  std::string first, second;
  dedicated.compress("Hello", 15, 6, 8, first);
  dedicated.compress("Hello", 15, 6, 8, second);
  CHECK(first == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  CHECK(second == bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST_CASE("RFC 7692 7.2.3.4: libdeflate output is a final block followed by one 0x00") {
  SharedDeflater d(6, DeflateEngine::libdeflate);
  const std::string out = shared_compress(d, "Hello", 15);
  REQUIRE(out.size() >= 2);
  CHECK((static_cast<unsigned char>(out[0]) & 1) == 1);  // BFINAL of the first (only) block
  CHECK(out.back() == '\0');
  CHECK(peer_decodes(out, 15, "Hello"));
  // libdeflate stores inputs this short: the RFC's 7.2.3.3 stored-block example with BFINAL set, then the
  // empty stored block of 7.2.1 step 2 (its 00 00 ff ff removed), as in 7.2.3.4.
  CHECK(out == bytes({0x01, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}));
}

TEST_CASE("the strict zlib peer used by these tests rejects matches beyond its window") {
  std::mt19937 rng(11);
  const std::string msg = test::far_matches(rng, 20000, 16000);
  test::PeerDeflater wide(15, false);
  const std::string payload = wide.compress(msg);
  CHECK(peer_decodes(payload, 15, msg));
  CHECK_FALSE(peer_decodes(payload, 9, msg));
}

TEST_CASE("SharedDeflater output decodes with a fresh zlib peer at every window 8-15 and every engine") {
  std::mt19937 rng(1);
  std::vector<std::string> messages = {"x", test::json_message(rng), test::text_message(rng, 16384),
                                       test::random_bytes(rng, 5000), test::far_matches(rng, 60000)};
  for (const DeflateEngine engine : {DeflateEngine::zlib, DeflateEngine::libdeflate}) {
    SharedDeflater d(1, engine);
    for (int bits = 8; bits <= 15; ++bits) {
      for (const std::string& msg : messages) {
        CAPTURE(bits);
        CAPTURE(msg.size());
        DeflateResult r;
        const std::string out = shared_compress(d, msg, static_cast<std::uint8_t>(bits), &r);
        REQUIRE(r.size == out.size());
        CHECK(r.min_window_bits <= bits);
        CHECK(r.min_window_bits >= kMinWindowBits);
        // Valid for the window asked for, and for the smallest window it claims to suit.
        CHECK(peer_decodes(out, bits, msg));
        CHECK(peer_decodes(out, r.min_window_bits, msg));
      }
    }
  }
}

TEST_CASE("min_window_bits: zlib's 9-bit window serves 8, libdeflate's output suits any window holding the message") {
  std::mt19937 rng(2);
  const std::string big = test::far_matches(rng, 3000, 2000);
  SharedDeflater z(1, DeflateEngine::zlib);
  DeflateResult r;
  shared_compress(z, big, 8, &r);
  CHECK(r.min_window_bits == 8);
  shared_compress(z, big, 9, &r);
  CHECK(r.min_window_bits == 8);
  shared_compress(z, big, 12, &r);
  CHECK(r.min_window_bits == 12);

  SharedDeflater l(1, DeflateEngine::libdeflate);
  shared_compress(l, std::string(200, 'a'), 15, &r);
  CHECK(r.min_window_bits == 8);
  shared_compress(l, big, 15, &r);  // 3000 bytes fit 2^12
  CHECK(r.min_window_bits == 12);
  shared_compress(l, test::far_matches(rng, 40000), 15, &r);
  CHECK(r.min_window_bits == 15);
  // A message longer than a small window goes to zlib with that window.
  shared_compress(l, big, 10, &r);
  CHECK(r.min_window_bits == 10);
}

TEST_CASE("SharedDeflater allocates nothing until used, and one zlib stream per window size in use") {
  SharedDeflater d(1, DeflateEngine::libdeflate);
  CHECK(d.zlib_streams() == 0);
  CHECK_FALSE(d.libdeflate_allocated());
  std::mt19937 rng(3);
  const std::string big = test::text_message(rng, 4000);
  shared_compress(d, big, 15);
  CHECK(d.libdeflate_allocated());
  CHECK(d.zlib_streams() == 0);
  shared_compress(d, big, 10);
  shared_compress(d, big, 10);
  CHECK(d.zlib_streams() == 1);
  shared_compress(d, big, 9);
  shared_compress(d, big, 8);  // shares the 9-bit stream
  CHECK(d.zlib_streams() == 2);
}

TEST_CASE("an empty message compresses to the single byte 0x00, which decodes to nothing") {
  SharedDeflater d;
  CHECK(shared_compress(d, "", 15) == bytes({0x00}));
  CHECK(peer_decodes(bytes({0x00}), 15, ""));
  ContextDeflater c;
  std::string out;
  c.compress("", 15, 1, 8, out);
  CHECK(out == bytes({0x00}));
  CHECK_FALSE(c.allocated());
}

TEST_CASE("compressing into a span smaller than needed reports size 0 and leaves the compressor usable") {
  std::mt19937 rng(4);
  const std::string msg = test::random_bytes(rng, 2000);
  for (const DeflateEngine engine : {DeflateEngine::zlib, DeflateEngine::libdeflate}) {
    SharedDeflater d(1, engine);
    std::string small(100, '\0');
    CHECK(d.compress(msg, 15, std::span<char>(small)).size == 0);
    std::string big(deflate_bound(msg.size()), '\0');
    const DeflateResult r = d.compress(msg, 15, std::span<char>(big));
    REQUIRE(r.size > 0);
    CHECK(peer_decodes(std::string_view(big).substr(0, r.size), 15, msg));
  }
}

TEST_CASE("deflate_bound holds for incompressible data at every window") {
  std::mt19937 rng(5);
  for (const std::size_t n : {1u, 10u, 300u, 5000u, 70000u}) {
    const std::string msg = test::random_bytes(rng, n);
    for (const DeflateEngine engine : {DeflateEngine::zlib, DeflateEngine::libdeflate}) {
      SharedDeflater d(9, engine);
      for (int bits = 8; bits <= 15; ++bits) {
        std::string out(deflate_bound(n), '\0');
        CHECK(d.compress(msg, static_cast<std::uint8_t>(bits), std::span<char>(out)).size > 0);
      }
    }
  }
}

TEST_CASE("ContextDeflater streams decode with one persistent zlib peer at every window, messages referring back") {
  std::mt19937 rng(6);
  for (int bits = 8; bits <= 15; ++bits) {
    CAPTURE(bits);
    ContextDeflater c;
    CHECK_FALSE(c.allocated());
    test::PeerInflater peer(bits, true);
    std::string previous;
    for (int i = 0; i < 8; ++i) {
      const std::string msg = i % 2 ? previous : test::text_message(rng, 100 + rng() % 3000);
      std::string out = "hdr";  // appends after what the buffer holds
      c.compress(msg, static_cast<std::uint8_t>(bits), 6, 8, out);
      REQUIRE(out.substr(0, 3) == "hdr");
      std::string decoded;
      REQUIRE(peer.inflate_message(std::string_view(out).substr(3), decoded));
      REQUIRE(decoded == msg);
      // A repeat of the previous message costs a few bytes per 258-byte match when it fits the window.
      if (i % 2 == 1 && msg.size() + 262 < (std::size_t{1} << bits)) CHECK(out.size() - 3 < 16 + msg.size() / 64);
      previous = msg;
    }
    CHECK(c.allocated());
    c.release();
    CHECK_FALSE(c.allocated());
  }
}

TEST_CASE("ContextDeflater is 8 bytes and moves its stream") {
  static_assert(sizeof(ContextDeflater) == 8);
  ContextDeflater a;
  std::string out;
  a.compress("Hello", 15, 6, 8, out);
  ContextDeflater b(std::move(a));
  CHECK_FALSE(a.allocated());
  CHECK(b.allocated());
  out.clear();
  b.compress("Hello", 15, 6, 8, out);
  CHECK(out == bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST_CASE("the threshold decides which messages are compressed") {
  const DeflateOptions o{.threshold = 64};
  CHECK_FALSE(o.should_compress(63));
  CHECK(o.should_compress(64));
  CHECK(o.should_compress(100000));
}
