#include <ringcast/ws/deflate/detail/inflater.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <random>

#include <ringcast/ws/deflate/detail/deflater.hpp>
#include "tests/support/deflate_test_support.hpp"

using namespace ringcast;
using ringcast::test::bytes;

namespace {

constexpr InflateParams kNoContext{.no_context_takeover = true, .window_bits = 15, .max_message_size = 1 << 20};
constexpr InflateParams kTakeover{.no_context_takeover = false, .window_bits = 15, .max_message_size = 1 << 20};

// Inflates one message given as a list of chunks (frames, or reads within frames).
InflateStatus inflate_chunks(Inflater& inf, InflaterPool& pool, const InflateParams& p,
                             const std::vector<std::string_view>& chunks, std::string& out) {
  for (std::string_view c : chunks) {
    const InflateStatus st = inf.feed(pool, p, c, out);
    if (st != InflateStatus::ok) return st;
  }
  return inf.finish(pool, p, out);
}

std::string inflate_one(const InflateParams& p, std::string_view payload, InflateStatus expect = InflateStatus::ok) {
  InflaterPool pool;
  Inflater inf;
  std::string out;
  CHECK(inf.inflate_message(pool, p, payload, out) == expect);
  return out;
}

// A message of `zeros` zero bytes as a sequence of sync-flushed zlib blocks: ~1 KiB per MiB, the best
// ratio DEFLATE allows. Built by repeating one compressed MiB, which decodes the same after any prefix.
std::string zero_bomb(std::size_t mib) {
  test::PeerDeflater d(15, false, 9);
  const std::string one = d.compress(std::string(1 << 20, '\0')) + bytes({0x00, 0x00, 0xff, 0xff});
  std::string bomb;
  for (std::size_t i = 0; i < mib; ++i) bomb += one;
  bomb.resize(bomb.size() - 4);
  return bomb;
}

}  // namespace

TEST_CASE("RFC 7692 7.2.3.1: a message compressed in one block inflates to Hello, whole or in two frames") {
  const std::string payload = bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  CHECK(inflate_one(kNoContext, payload) == "Hello");
  CHECK(inflate_one(kTakeover, payload) == "Hello");

  // The RFC's fragmented form: the compressed data split across a text frame and a continuation frame.
  InflaterPool pool;
  Inflater inf;
  std::string out;
  CHECK(inflate_chunks(inf, pool, kNoContext, {payload.substr(0, 3), payload.substr(3)}, out) == InflateStatus::ok);
  CHECK(out == "Hello");
}

TEST_CASE("RFC 7692 7.2.3.2: with context takeover the second Hello refers back into the first") {
  InflaterPool pool;
  Inflater inf;
  std::string first, second;
  REQUIRE(inf.inflate_message(pool, kTakeover, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), first) ==
          InflateStatus::ok);
  CHECK(inf.holds_stream());
  REQUIRE(inf.inflate_message(pool, kTakeover, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), second) == InflateStatus::ok);
  CHECK(first == "Hello");
  CHECK(second == "Hello");
  inf.release(pool);
  CHECK_FALSE(inf.holds_stream());
}

TEST_CASE("RFC 7692 7.2.3.2: without context takeover a reference before the message start is corrupt") {
  InflaterPool pool;
  Inflater inf;
  std::string out;
  CHECK(inf.inflate_message(pool, kNoContext, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), out) == InflateStatus::corrupt);
  CHECK(inflate_close_code(InflateStatus::corrupt) == 1007);
  CHECK_FALSE(inf.holds_stream());
}

TEST_CASE("RFC 7692 7.2.3.3: a stored (uncompressed) block inflates") {
  const std::string payload = bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00});
  CHECK(inflate_one(kNoContext, payload) == "Hello");
  CHECK(inflate_one(kTakeover, payload) == "Hello");
}

TEST_CASE("RFC 7692 7.2.3.4: a message ending with a BFINAL block inflates, and the window carries over") {
  const std::string final_hello = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00});
  CHECK(inflate_one(kNoContext, final_hello) == "Hello");

  // Context takeover: the next message may still refer to the data before the final block.
  InflaterPool pool;
  Inflater inf;
  std::string a, b;
  REQUIRE(inf.inflate_message(pool, kTakeover, final_hello, a) == InflateStatus::ok);
  REQUIRE(inf.inflate_message(pool, kTakeover, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), b) == InflateStatus::ok);
  CHECK(a == "Hello");
  CHECK(b == "Hello");
  inf.release(pool);
}

TEST_CASE("RFC 7692 7.2.3.5: two DEFLATE blocks in one message") {
  const std::string payload =
      bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00});
  CHECK(inflate_one(kNoContext, payload) == "Hello");
}

TEST_CASE("a message that ends right after its final block needs no empty stored block") {
  CHECK(inflate_one(kNoContext, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) == "Hello");
  CHECK(inflate_one(kTakeover, bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) == "Hello");
}

TEST_CASE("data after a final block is inflated as a new DEFLATE stream") {
  const std::string payload = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}) +  // final block: Hello
                              bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});   // new stream: Hello
  CHECK(inflate_one(kNoContext, payload) == "HelloHello");
  CHECK(inflate_one(kTakeover, payload) == "HelloHello");
}

TEST_CASE("an empty payload with RSV1 is an empty message and takes no stream") {
  InflaterPool pool;
  Inflater inf;
  std::string out;
  CHECK(inf.feed(pool, kNoContext, "", out) == InflateStatus::ok);
  CHECK_FALSE(inf.holds_stream());
  CHECK(inf.finish(pool, kNoContext, out) == InflateStatus::ok);
  CHECK(out.empty());
  CHECK(pool.created() == 0);
  // The single 0x00 byte a compressor writes for an empty message is an empty message too.
  CHECK(inflate_one(kNoContext, bytes({0x00})).empty());
}

TEST_CASE("corrupt DEFLATE data is reported as corrupt (1007) and releases the stream") {
  InflaterPool pool;
  const std::string cases[] = {
      bytes({0x07}),                                            // BTYPE = 11, reserved
      bytes({0x00, 0x05, 0x00, 0x00, 0x00, 0x48, 0x65, 0x6c}),  // stored block, LEN and NLEN disagree
      bytes({0xf2, 0x48, 0xcd}),                                // block cut short: no block boundary at the end
      bytes({0xfc, 0xff, 0xff, 0xff}),                          // dynamic block with impossible code lengths
  };
  for (const std::string& payload : cases) {
    for (const InflateParams& p : {kNoContext, kTakeover}) {
      Inflater inf;
      std::string out;
      CHECK(inf.inflate_message(pool, p, payload, out) == InflateStatus::corrupt);
      CHECK_FALSE(inf.holds_stream());
    }
  }
}

TEST_CASE("a message decompressing to exactly the limit passes, one byte more is too big (1009)") {
  const std::string msg(1000, 'x');
  test::PeerDeflater d(15, false);
  const std::string payload = d.compress(msg);
  for (const bool takeover : {false, true}) {
    InflateParams p{.no_context_takeover = !takeover, .window_bits = 15, .max_message_size = 1000};
    CHECK(inflate_one(p, payload) == msg);
    p.max_message_size = 999;
    const std::string out = inflate_one(p, payload, InflateStatus::too_big);
    CHECK(out.size() <= 999);
  }
  CHECK(inflate_close_code(InflateStatus::too_big) == 1009);
}

TEST_CASE("a bomb of ~1 MiB that expands to 1 GiB stops at the limit with bounded memory and time") {
  const std::string bomb = zero_bomb(1024);
  MESSAGE("bomb: " << bomb.size() << " bytes for 1 GiB");
  CHECK(bomb.size() < (2 << 20));
  constexpr std::size_t kLimit = 1 << 20;
  for (const bool takeover : {false, true}) {
    const InflateParams p{.no_context_takeover = !takeover, .window_bits = 15, .max_message_size = kLimit};
    InflaterPool pool;
    const auto start = std::chrono::steady_clock::now();
    {
      Inflater inf;
      std::string out = "prefix";
      CHECK(inf.inflate_message(pool, p, bomb, out) == InflateStatus::too_big);
      CHECK(out.size() <= 6 + kLimit);
      CHECK(out.capacity() <= 2 * (6 + kLimit + 1));
      CHECK_FALSE(inf.holds_stream());
    }
    {
      // Fed as 4 KiB frames: the same, and the rest of the frames are never looked at.
      Inflater inf;
      std::string out;
      InflateStatus st = InflateStatus::ok;
      std::size_t fed = 0;
      for (std::size_t pos = 0; pos < bomb.size() && st == InflateStatus::ok; pos += 4096) {
        st = inf.feed(pool, p, std::string_view(bomb).substr(pos, 4096), out);
        fed += 4096;
      }
      CHECK(st == InflateStatus::too_big);
      CHECK(out.size() <= kLimit);
      CHECK(fed < 16 * 4096);  // ~1 KiB of input per MiB: the limit is reached in the first frame or two
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    CHECK(ms < 2000);  // inflating the whole GiB would take seconds
  }
}

TEST_CASE("the limit counts the message's output only, after whatever the buffer already holds") {
  test::PeerDeflater d(15, false);
  const std::string payload = d.compress(std::string(100, 'a'));
  InflaterPool pool;
  Inflater inf;
  std::string out(500, 'p');
  const InflateParams p{.no_context_takeover = true, .window_bits = 15, .max_message_size = 100};
  CHECK(inf.inflate_message(pool, p, payload, out) == InflateStatus::ok);
  CHECK(out == std::string(500, 'p') + std::string(100, 'a'));
}

TEST_CASE("messages from a zlib peer inflate at random frame and read boundaries, every window, both modes") {
  std::mt19937 rng(42);
  for (int bits = 8; bits <= 15; ++bits) {
    for (const bool takeover : {false, true}) {
      CAPTURE(bits);
      CAPTURE(takeover);
      // zlib cannot deflate with 8 bits; its 9-bit window stays within 256 bytes (see deflater.hpp).
      test::PeerDeflater peer(std::max(bits, 9), takeover);
      InflaterPool pool;
      Inflater inf;
      const InflateParams p{.no_context_takeover = !takeover, .window_bits = static_cast<std::uint8_t>(bits),
                            .max_message_size = 1 << 20};
      std::string previous;
      for (int i = 0; i < 12; ++i) {
        std::string msg;
        switch (i % 4) {
          case 0: msg = test::json_message(rng); break;
          case 1: msg = test::text_message(rng, 1 + rng() % 20000); break;
          case 2: msg = test::far_matches(rng, 1 + rng() % 50000); break;
          case 3: msg = previous; break;  // refers back into the previous message with takeover
        }
        const std::string payload = peer.compress(msg, i % 3 == 0 ? 700 : 0);
        std::string out;
        REQUIRE(inflate_chunks(inf, pool, p, test::random_split(rng, payload), out) == InflateStatus::ok);
        REQUIRE(out == msg);
        CHECK(inf.holds_stream() == takeover);
        previous = msg;
      }
      inf.release(pool);
    }
  }
}

TEST_CASE("final-block messages from a zlib peer inflate, with or without the trailing empty block") {
  std::mt19937 rng(5);
  test::PeerDeflater peer(15, false);
  for (int i = 0; i < 20; ++i) {
    const std::string msg = test::text_message(rng, 1 + rng() % 5000);
    for (const bool trailing : {true, false}) {
      const std::string payload = peer.compress_final(msg, trailing);
      InflaterPool pool;
      Inflater inf;
      std::string out;
      REQUIRE(inflate_chunks(inf, pool, i % 2 ? kTakeover : kNoContext, test::random_split(rng, payload), out) ==
              InflateStatus::ok);
      CHECK(out == msg);
    }
  }
}

TEST_CASE("SharedDeflater and ContextDeflater output inflates back for every window") {
  std::mt19937 rng(9);
  for (int bits = 8; bits <= 15; ++bits) {
    const auto b = static_cast<std::uint8_t>(bits);
    SharedDeflater shared(1);
    ContextDeflater dedicated;
    InflaterPool pool;
    Inflater shared_in, dedicated_in;
    const InflateParams np{.no_context_takeover = true, .window_bits = b, .max_message_size = 1 << 20};
    const InflateParams tp{.no_context_takeover = false, .window_bits = b, .max_message_size = 1 << 20};
    for (int i = 0; i < 10; ++i) {
      const std::string msg = i % 2 ? test::json_message(rng) : test::far_matches(rng, rng() % 30000);
      std::string a, b2, out_a, out_b;
      shared.compress(msg, b, a);
      dedicated.compress(msg, b, 6, 8, b2);
      REQUIRE(inflate_chunks(shared_in, pool, np, test::random_split(rng, a), out_a) == InflateStatus::ok);
      REQUIRE(inflate_chunks(dedicated_in, pool, tp, test::random_split(rng, b2), out_b) == InflateStatus::ok);
      CHECK(out_a == msg);
      CHECK(out_b == msg);
    }
    dedicated_in.release(pool);
  }
}

TEST_CASE("without context takeover, interleaved partial messages borrow separate streams that the pool reuses") {
  test::PeerDeflater peer(15, false);
  const std::string m1 = peer.compress(std::string(3000, 'a') + "one");
  const std::string m2 = peer.compress(std::string(3000, 'b') + "two");
  InflaterPool pool;
  Inflater c1, c2;
  std::string o1, o2;
  CHECK_FALSE(c1.holds_stream());
  REQUIRE(c1.feed(pool, kNoContext, std::string_view(m1).substr(0, 5), o1) == InflateStatus::ok);
  REQUIRE(c2.feed(pool, kNoContext, std::string_view(m2).substr(0, 7), o2) == InflateStatus::ok);
  CHECK(pool.created() == 2);
  REQUIRE(c1.feed(pool, kNoContext, std::string_view(m1).substr(5), o1) == InflateStatus::ok);
  REQUIRE(c2.feed(pool, kNoContext, std::string_view(m2).substr(7), o2) == InflateStatus::ok);
  REQUIRE(c2.finish(pool, kNoContext, o2) == InflateStatus::ok);
  REQUIRE(c1.finish(pool, kNoContext, o1) == InflateStatus::ok);
  CHECK(o1 == std::string(3000, 'a') + "one");
  CHECK(o2 == std::string(3000, 'b') + "two");
  CHECK_FALSE(c1.holds_stream());
  CHECK_FALSE(c2.holds_stream());
  CHECK(pool.idle() == 2);

  // Whole messages from any number of connections now run on the idle streams.
  for (int i = 0; i < 50; ++i) {
    Inflater c;
    std::string o;
    REQUIRE(c.inflate_message(pool, kNoContext, m1, o) == InflateStatus::ok);
  }
  CHECK(pool.created() == 2);
}

TEST_CASE("a context-takeover inflater allocates nothing until its first compressed message") {
  static_assert(sizeof(Inflater) == 8);
  InflaterPool pool;
  Inflater inf;
  CHECK_FALSE(inf.holds_stream());
  CHECK(pool.created() == 0);
  std::string out;
  REQUIRE(inf.inflate_message(pool, kTakeover, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), out) ==
          InflateStatus::ok);
  CHECK(inf.holds_stream());
  CHECK(pool.created() == 1);
  inf.release(pool);
  CHECK(pool.idle() == 1);
}

TEST_CASE("the pool keeps at most max_idle streams") {
  InflaterPool pool(1);
  Inflater a, b;
  std::string out;
  REQUIRE(a.feed(pool, kNoContext, bytes({0xf2, 0x48}), out) == InflateStatus::ok);
  REQUIRE(b.feed(pool, kNoContext, bytes({0xf2, 0x48}), out) == InflateStatus::ok);
  a.release(pool);
  b.release(pool);
  CHECK(pool.idle() == 1);
}

TEST_CASE("the result does not depend on how a message is split into chunks, even for garbage") {
  std::mt19937 rng(77);
  test::PeerDeflater peer(15, false);
  for (int i = 0; i < 400; ++i) {
    std::string payload;
    if (i % 2 == 0) {
      payload = test::random_bytes(rng, rng() % 64);
    } else {
      // A valid message with a few bytes flipped.
      payload = peer.compress(test::text_message(rng, 1 + rng() % 3000));
      for (int k = 0; k < 3; ++k) payload[rng() % payload.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    for (const bool takeover : {false, true}) {
      const InflateParams p{.no_context_takeover = !takeover, .window_bits = 15, .max_message_size = 4096};
      InflaterPool pool;
      Inflater whole, split;
      std::string out_whole, out_split;
      const InflateStatus a = whole.inflate_message(pool, p, payload, out_whole);
      const InflateStatus b = inflate_chunks(split, pool, p, test::random_split(rng, payload, 16), out_split);
      CHECK(a == b);
      CHECK(out_whole.size() <= 4096);
      if (a == InflateStatus::ok) CHECK(out_whole == out_split);
      whole.release(pool);
      split.release(pool);
    }
  }
}

TEST_CASE("messages of every size up to 2 KiB inflate, whole and split") {
  std::mt19937 rng(8);
  test::PeerDeflater peer(15, false);
  InflaterPool pool;
  const std::string text = test::far_matches(rng, 2048, 500);
  for (std::size_t n = 1; n <= text.size(); ++n) {
    const std::string msg = text.substr(0, n);
    const std::string payload = peer.compress(msg);
    Inflater inf;
    std::string out;
    REQUIRE(inf.inflate_message(pool, kNoContext, payload, out) == InflateStatus::ok);
    REQUIRE(out == msg);
    std::string split_out;
    REQUIRE(inflate_chunks(inf, pool, kNoContext, test::random_split(rng, payload), split_out) == InflateStatus::ok);
    REQUIRE(split_out == msg);
  }
}
