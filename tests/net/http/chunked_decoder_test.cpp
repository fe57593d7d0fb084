#include <ringcast/net/http/detail/chunked_decoder.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

struct Decoded {
  ChunkedResult last;   // the answer that ended decoding (or the last need_more)
  size_t consumed = 0;  // total bytes consumed over every call
  std::string body;
};

// Feeds `in` in slices of the given sizes (the rest in one last slice), stopping at done or error.
Decoded decode_in_slices(std::string_view in, const std::vector<size_t>& sizes, uint64_t max_body = 1 << 20) {
  ChunkedDecoder dec(max_body);
  Decoded d;
  size_t at = 0;
  auto step = [&](size_t n) {
    d.last = dec.feed(in.substr(at, n), d.body);
    d.consumed += d.last.consumed;
    at += n;
    return d.last.status == ChunkedStatus::need_more;
  };
  for (const size_t n : sizes) {
    if (at >= in.size() || !step(std::min(n, in.size() - at))) return d;
  }
  if (at < in.size()) step(in.size() - at);
  return d;
}

Decoded decode_whole(std::string_view in, uint64_t max_body = 1 << 20) { return decode_in_slices(in, {}, max_body); }

Decoded decode_bytewise(std::string_view in, uint64_t max_body = 1 << 20) {
  return decode_in_slices(in, std::vector<size_t>(in.size(), 1), max_body);
}

// Whole, byte by byte and at random splits give the same answer; returns the whole one.
Decoded decode_every_way(std::string_view in, uint64_t max_body = 1 << 20) {
  const Decoded whole = decode_whole(in, max_body);
  const Decoded bytewise = decode_bytewise(in, max_body);
  CHECK(bytewise.last.status == whole.last.status);
  CHECK(bytewise.last.error == whole.last.error);
  CHECK(bytewise.body == whole.body);
  if (whole.last.status == ChunkedStatus::done) CHECK(bytewise.consumed == whole.consumed);
  std::mt19937 rng(uint32_t(in.size()) * 7 + 1);
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> sizes;
    for (size_t total = 0; total < in.size();) {
      sizes.push_back(1 + rng() % 9);
      total += sizes.back();
    }
    const Decoded split = decode_in_slices(in, sizes, max_body);
    CHECK(split.last.status == whole.last.status);
    CHECK(split.last.error == whole.last.error);
    CHECK(split.body == whole.body);
    if (whole.last.status == ChunkedStatus::done) CHECK(split.consumed == whole.consumed);
  }
  return whole;
}

ChunkedError error_of(std::string_view in, uint64_t max_body = 1 << 20) {
  const Decoded d = decode_every_way(in, max_body);
  CHECK(d.last.status == ChunkedStatus::error);
  return d.last.error;
}

}  // namespace

TEST_CASE("a chunked body is decoded whole, byte by byte and at random splits alike") {
  const std::string body = "5\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n";
  const Decoded d = decode_every_way(body);
  REQUIRE(d.last.status == ChunkedStatus::done);
  CHECK(d.body == "hello world!");
  CHECK(d.consumed == body.size());
}

TEST_CASE("hex sizes of either case and leading zeros are accepted") {
  std::string data(0x1a, 'x');
  const std::string body = "001A\r\n" + data + "\r\n1a\r\n" + data + "\r\n000\r\n\r\n";
  const Decoded d = decode_every_way(body);
  REQUIRE(d.last.status == ChunkedStatus::done);
  CHECK(d.body == data + data);
}

TEST_CASE("chunk extensions are skipped") {
  const Decoded d = decode_every_way("3;name=value;flag\r\nabc\r\n2 ; q=\"x;y\"\r\nde\r\n0;last\r\n\r\n");
  REQUIRE(d.last.status == ChunkedStatus::done);
  CHECK(d.body == "abcde");
}

TEST_CASE("trailer fields are skipped") {
  const Decoded d = decode_every_way("3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 12\r\n\r\n");
  REQUIRE(d.last.status == ChunkedStatus::done);
  CHECK(d.body == "abc");
}

TEST_CASE("decoding stops at the end of the body so a pipelined request can follow") {
  const std::string body = "2\r\nok\r\n0\r\n\r\n";
  const std::string stream = body + "GET / HTTP/1.1\r\n";
  ChunkedDecoder dec(1024);
  std::string out;
  const ChunkedResult r = dec.feed(stream, out);
  REQUIRE(r.status == ChunkedStatus::done);
  CHECK(r.consumed == body.size());
  CHECK(out == "ok");
  CHECK(dec.done());
  CHECK(dec.decoded_size() == 2);
  // Further input is not consumed.
  const ChunkedResult again = dec.feed("more", out);
  CHECK(again.status == ChunkedStatus::done);
  CHECK(again.consumed == 0);
}

TEST_CASE("need_more consumes the whole slice") {
  ChunkedDecoder dec(1024);
  std::string out;
  const ChunkedResult r = dec.feed("5\r\nhel", out);
  CHECK(r.status == ChunkedStatus::need_more);
  CHECK(r.consumed == 6);  // "5\r\nhel"
  CHECK(out == "hel");
}

TEST_CASE("a sink receives the data pieces without a string") {
  ChunkedDecoder dec(1024);
  std::vector<std::string> pieces;
  const std::string body = "4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n";
  ChunkedResult r = dec.feed_to(std::string_view(body).substr(0, 5), [&](std::string_view p) { pieces.emplace_back(p); });
  CHECK(r.status == ChunkedStatus::need_more);
  r = dec.feed_to(std::string_view(body).substr(5), [&](std::string_view p) { pieces.emplace_back(p); });
  REQUIRE(r.status == ChunkedStatus::done);
  CHECK(pieces == std::vector<std::string>{"ab", "cd", "ef"});
}

TEST_CASE("the decoded size limit is exact and refused with 413 as soon as a size exceeds it") {
  const Decoded ok = decode_every_way("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10);
  CHECK(ok.last.status == ChunkedStatus::done);
  CHECK(error_of("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10) == ChunkedError::body_too_large);

  // Refused at the size line, before any of the chunk's data arrives.
  ChunkedDecoder dec(10);
  std::string out;
  const ChunkedResult r = dec.feed("b\r\n", out);
  CHECK(r.status == ChunkedStatus::error);
  CHECK(r.http_status == 413);
  CHECK(out.empty());
}

TEST_CASE("malformed chunk sizes are 400") {
  CHECK(error_of("\r\nabc\r\n0\r\n\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of("g\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of("+5\r\nhello\r\n0\r\n\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of("-5\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of(" 5\r\nhello\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of("5 \r\nhello\r\n") == ChunkedError::bad_chunk_size);  // BWS only before ';'
  CHECK(error_of("0x5\r\nhello\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of("5g\r\nhello\r\n") == ChunkedError::bad_chunk_size);
  const Decoded d = decode_whole("5\r\nhello\r\nz\r\n");
  CHECK(d.last.http_status == 400);
  CHECK(d.body == "hello");
}

TEST_CASE("a chunk size that does not fit in 64 bits is 400") {
  CHECK(error_of("10000000000000000\r\n") == ChunkedError::size_overflow);
  const Decoded max = decode_whole("ffffffffffffffff\r\n", UINT64_MAX);
  CHECK(max.last.status == ChunkedStatus::need_more);  // fits: 2^64 - 1
  // Leading zeros do not count towards the 64 bits.
  const Decoded zeros = decode_every_way("0000000000000000000000001\r\nx\r\n0\r\n\r\n");
  REQUIRE(zeros.last.status == ChunkedStatus::done);
  CHECK(zeros.body == "x");
}

TEST_CASE("missing or bare line endings are 400") {
  CHECK(error_of("5\r\nhelloX\r\n") == ChunkedError::bad_line_ending);
  CHECK(error_of("5\r\nhello\rX") == ChunkedError::bad_line_ending);
  CHECK(error_of("5\nhello\r\n") == ChunkedError::bad_chunk_size);
  CHECK(error_of("5\rhello\r\n") == ChunkedError::bad_line_ending);
  CHECK(error_of("5\r\nhello\n0\r\n\r\n") == ChunkedError::bad_line_ending);
  CHECK(error_of("0\r\n\n") == ChunkedError::bad_line_ending);
  CHECK(error_of("0\r\n\rX") == ChunkedError::bad_line_ending);
  CHECK(error_of("5;ext\nhello\r\n") == ChunkedError::bad_line_ending);
  CHECK(error_of("0\r\nX: 1\n\r\n") == ChunkedError::bad_line_ending);
  CHECK(error_of("0\r\nX: 1\rY\r\n") == ChunkedError::bad_line_ending);
}

TEST_CASE("bad extensions and trailers are 400") {
  CHECK(error_of("5;a\x01\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of(std::string("5;") + std::string(ChunkedDecoder::kMaxSizeLine, 'e') + "\r\nhello\r\n") == ChunkedError::bad_extension);
  CHECK(error_of("0\r\n folded: x\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\n: x\r\n\r\n") == ChunkedError::bad_trailer);
  CHECK(error_of("0\r\nX: a\x7f\r\n\r\n") == ChunkedError::bad_trailer);
  // The longest size line allowed, then one byte more.
  const std::string longest = std::string("5;") + std::string(ChunkedDecoder::kMaxSizeLine - 2, 'e');
  CHECK(decode_whole(longest + "\r\nhello\r\n0\r\n\r\n").last.status == ChunkedStatus::done);
  CHECK(error_of(longest + "e\r\nhello\r\n") == ChunkedError::bad_extension);
}

TEST_CASE("a trailer section over the limit is 431; at the limit it is accepted") {
  // The trailer section counts every byte after the last chunk's CRLF, final CRLF included.
  const std::string field = "X: ";
  const size_t fill = ChunkedDecoder::kMaxTrailerBytes - field.size() - 4;
  const std::string at_limit = "0\r\n" + field + std::string(fill, 'v') + "\r\n\r\n";
  const Decoded ok = decode_every_way(at_limit);
  CHECK(ok.last.status == ChunkedStatus::done);
  CHECK(ok.consumed == at_limit.size());
  const std::string over = "0\r\n" + field + std::string(fill + 1, 'v') + "\r\n\r\n";
  CHECK(error_of(over) == ChunkedError::trailers_too_large);
  CHECK(decode_whole(over).last.http_status == 431);
}

TEST_CASE("framing that outgrows the data by more than kFramingAllowance is 413, refused at a line's end") {
  constexpr size_t kAllowance = ChunkedDecoder::kFramingAllowance;
  // 1-byte chunks with 1,000-byte extensions: about 1,006 bytes of framing per byte of data.
  std::string flood;
  for (int i = 0; i < 40; ++i) flood += "1;" + std::string(1000, 'e') + "\r\na\r\n";
  const Decoded d = decode_every_way(flood);
  CHECK(d.last.error == ChunkedError::framing_too_large);
  CHECK(d.last.http_status == 413);
  CHECK(d.consumed <= kAllowance + 2 * 1010);  // refused within the size line that crossed the line
  CHECK(d.body.size() < 20);

  // 1-byte chunks without extensions: 5 bytes of framing per byte, refused after 4,096 of them.
  std::string tiny;
  while (tiny.size() < 64 * 1024) tiny += "1\r\na\r\n";
  const Decoded t = decode_whole(tiny);
  CHECK(t.last.error == ChunkedError::framing_too_large);
  CHECK(t.consumed < kAllowance * 3 / 2 + 16);

  // 16-byte chunks frame less than their data: any number of them is fine.
  ChunkedDecoder dec(UINT64_MAX);
  std::string out;
  const std::string chunk = "10\r\n0123456789abcdef\r\n";
  for (int i = 0; i < 100'000; ++i) REQUIRE(dec.feed(chunk, out).status == ChunkedStatus::need_more);
  CHECK(dec.feed("0\r\n\r\n", out).status == ChunkedStatus::done);
  CHECK(out.size() == 1'600'000);
  CHECK(dec.framing_size() == 100'000 * 6 + 5);
}

TEST_CASE("after an error the decoder keeps refusing") {
  ChunkedDecoder dec(1024);
  std::string out;
  CHECK(dec.feed("x", out).status == ChunkedStatus::error);
  const ChunkedResult again = dec.feed("5\r\nhello\r\n0\r\n\r\n", out);
  CHECK(again.status == ChunkedStatus::error);
  CHECK(again.error == ChunkedError::bad_chunk_size);
  CHECK(out.empty());
  dec.reset(1024);
  CHECK(dec.feed("5\r\nhello\r\n0\r\n\r\n", out).status == ChunkedStatus::done);
  CHECK(out == "hello");
}

TEST_CASE("random chunkings of random data decode to the data at any split") {
  std::mt19937 rng(99);
  for (int round = 0; round < 100; ++round) {
    std::string data, encoded;
    const int chunks = int(rng() % 6);
    for (int c = 0; c < chunks; ++c) {
      std::string piece(1 + rng() % 300, '\0');
      for (char& ch : piece) ch = char(rng());
      char size[32];
      std::snprintf(size, sizeof size, rng() % 2 ? "%zx" : "%zX", piece.size());
      encoded += size;
      if (rng() % 3 == 0) encoded += ";ext=1";
      encoded += "\r\n" + piece + "\r\n";
      data += piece;
    }
    encoded += "0\r\n";
    if (rng() % 2) encoded += "Trailer-Field: x\r\n";
    encoded += "\r\n";
    const Decoded d = decode_every_way(encoded);
    REQUIRE(d.last.status == ChunkedStatus::done);
    CHECK(d.body == data);
    CHECK(d.consumed == encoded.size());
  }
}
