// libFuzzer target for the inflater and deflater (ringcast/ws/deflate/detail/). The first byte picks
// the mode:
//   bit 0     context takeover
//   bit 1     round trip: the rest is a message to compress (SharedDeflater or ContextDeflater) and inflate
//   bits 2-4  window bits 8..15
//   bits 5-6  max_message_size: 64 B, 1 KiB, 16 KiB, 1 MiB
//   bit 7     SharedDeflater engine: zlib or libdeflate
// The second byte seeds the split of the input into messages, frames and reads. Otherwise the rest is
// compressed payload. Checked: output never exceeds the limit; the result does not depend on the split
// (but see window_lenient); without takeover, status and output match a plain zlib decoding of
// payload + 00 00 ff ff.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/deflate/detail/deflater.hpp>
#include <ringcast/ws/deflate/detail/inflater.hpp>

using namespace ringcast;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

std::vector<std::string_view> split(std::mt19937& rng, std::string_view s) {
  std::vector<std::string_view> pieces;
  while (!s.empty() && pieces.size() < 16) {
    const std::size_t n = rng() % (s.size() + 1);
    pieces.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  pieces.push_back(s);
  return pieces;
}

// Plain zlib, unbounded: payload, then 00 00 ff ff unless a DEFLATE stream ended exactly at the payload's
// end; a stream end restarts a fresh stream. Valid when it ends between blocks or at a stream end.
InflateStatus reference(std::string_view payload, std::string& out) {
  if (payload.empty()) return InflateStatus::ok;
  z_stream z{};
  inflateInit2(&z, -15);
  bool ended = false, boundary = false, valid = true;
  auto run = [&](const unsigned char* p, std::size_t n) {
    z.next_in = const_cast<Bytef*>(p);
    z.avail_in = static_cast<uInt>(n);
    unsigned char buf[8192];
    for (;;) {
      z.next_out = buf;
      z.avail_out = sizeof buf;
      const uInt in_before = z.avail_in;
      const int rc = inflate(&z, Z_NO_FLUSH);
      out.append(reinterpret_cast<char*>(buf), sizeof buf - z.avail_out);
      const bool moved = z.avail_in < in_before || z.avail_out < sizeof buf;
      if (z.avail_in < in_before) ended = false;
      if (moved) boundary = (z.data_type & 128) != 0;
      if (rc == Z_STREAM_END) {
        ended = true;
        inflateReset(&z);
        if (z.avail_in == 0) return;
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        valid = false;
        return;
      }
      if (z.avail_in == 0 && z.avail_out > 0) return;
      if (rc == Z_BUF_ERROR) return;
    }
  };
  run(reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  if (valid && !ended) {
    static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
    run(tail, 4);
  }
  inflateEnd(&z);
  if (!valid) return InflateStatus::corrupt;
  return ended || boundary ? InflateStatus::ok : InflateStatus::corrupt;
}

InflaterPool& pool() {
  static InflaterPool p;
  return p;
}

InflateStatus feed_all(Inflater& inf, const InflateParams& p, const std::vector<std::string_view>& chunks,
                       std::string& out) {
  for (std::string_view c : chunks) {
    const InflateStatus st = inf.feed(pool(), p, c, out);
    if (st != InflateStatus::ok) return st;
  }
  return inf.finish(pool(), p, out);
}

void inflate_messages(std::string_view input, const InflateParams& p, std::mt19937& rng) {
  // Up to three messages, so that context takeover carries a window from one to the next.
  std::vector<std::string_view> messages;
  const std::size_t count = 1 + rng() % 3;
  for (std::size_t i = 0; i + 1 < count; ++i) {
    const std::size_t n = rng() % (input.size() + 1);
    messages.push_back(input.substr(0, n));
    input.remove_prefix(n);
  }
  messages.push_back(input);

  Inflater whole, chunked;
  for (std::string_view payload : messages) {
    std::string a = "x", b;  // output goes after what the buffer holds
    const InflateStatus sa = whole.inflate_message(pool(), p, payload, a);
    const InflateStatus sb = feed_all(chunked, p, split(rng, payload), b);
    // zlib checks a match against its window only when the match reaches before the current call's
    // output, so with a window below 15 bits a peer overreaching its window may pass in one piece and
    // fail in pieces (never decoding to anything but the right bytes). With 15 bits it cannot differ.
    const bool window_lenient = !p.no_context_takeover && p.window_bits < kMaxWindowBits;
    if (sa != sb) {
      require(window_lenient && (sa == InflateStatus::corrupt || sb == InflateStatus::corrupt));
      break;
    }
    require(a.size() <= 1 + p.max_message_size && b.size() <= p.max_message_size);
    if (sa == InflateStatus::ok) require(a.substr(1) == b);
    if (p.no_context_takeover) {
      require(!whole.holds_stream() && !chunked.holds_stream());
      std::string r;
      const InflateStatus sr = reference(payload, r);
      if (r.size() > p.max_message_size) {
        require(sa == InflateStatus::too_big);
      } else {
        require(sa == sr);
        if (sa == InflateStatus::ok) require(r == b);
      }
    }
    if (sa != InflateStatus::ok) break;  // the connection would be closed
  }
  whole.release(pool());
  chunked.release(pool());
}

void round_trip(std::string_view input, std::uint8_t bits, bool takeover, DeflateEngine engine, std::mt19937& rng) {
  static SharedDeflater shared_zlib(1, DeflateEngine::zlib);
  static SharedDeflater shared_libdeflate(1, DeflateEngine::libdeflate);
  SharedDeflater& shared = engine == DeflateEngine::zlib ? shared_zlib : shared_libdeflate;
  const InflateParams p{.no_context_takeover = !takeover, .window_bits = bits, .max_message_size = 1 << 20};
  ContextDeflater dedicated;
  Inflater inf;
  const std::size_t cut = rng() % (input.size() + 1);
  for (std::string_view msg : {input.substr(0, cut), input.substr(cut), input.substr(0, cut)}) {
    std::string payload;
    if (takeover) {
      dedicated.compress(msg, bits, 1 + static_cast<int>(rng() % 9), 1 + static_cast<int>(rng() % 9), payload);
    } else {
      const DeflateResult r = shared.compress(msg, bits, payload);
      require(r.size == payload.size() && r.min_window_bits <= bits);
    }
    std::string out;
    require(feed_all(inf, p, split(rng, payload), out) == InflateStatus::ok);
    require(out == msg);
  }
  inf.release(pool());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0];
  std::mt19937 rng(data[1]);
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);
  const bool takeover = (mode & 1) != 0;
  const auto bits = static_cast<std::uint8_t>(8 + ((mode >> 2) & 7));
  static constexpr std::size_t kLimits[4] = {64, 1 << 10, 16 << 10, 1 << 20};
  if ((mode & 2) != 0) {
    round_trip(input, bits, takeover, (mode & 0x80) != 0 ? DeflateEngine::libdeflate : DeflateEngine::zlib, rng);
  } else {
    const InflateParams p{.no_context_takeover = !takeover, .window_bits = bits,
                          .max_message_size = kLimits[(mode >> 5) & 3]};
    inflate_messages(input, p, rng);
  }
  return 0;
}
