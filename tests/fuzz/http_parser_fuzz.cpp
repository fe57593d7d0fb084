// libFuzzer target for HttpParser and ChunkedDecoder.
//
// Input: two control bytes, then the bytes received on a connection. The control bytes choose two cut
// points (as fractions of the rest). The head is parsed whole, then again fed as a connection receives
// it (the first piece from a buffer that is freed before the next call, the way receive buffers are
// recycled), then byte by byte for short inputs: every way must give the same answer and the same
// request. The body (what follows a chunked head, or the whole input otherwise) then goes through the
// chunked decoder whole, cut at the same points, and byte by byte, which must agree too.
//
//   build-asan/bin/http_parser_fuzz tests/fuzz/corpus/http_parser -dict=tests/fuzz/http_parser.dict
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <ringcast/net/http/detail/chunked_decoder.hpp>
#include <ringcast/net/http/detail/http_parser.hpp>

using namespace ringcast;

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

void require_same(const HttpRequest& a, const HttpRequest& b) {
  require(a.method() == b.method() && a.method_id() == b.method_id());
  require(a.target() == b.target() && a.path() == b.path() && a.query() == b.query());
  require(a.version() == b.version() && a.keep_alive() == b.keep_alive());
  require(a.body_kind() == b.body_kind() && a.content_length() == b.content_length());
  require(a.headers().size() == b.headers().size());
  for (size_t i = 0; i < a.headers().size(); ++i) {
    require(a.headers()[i].name == b.headers()[i].name && a.headers()[i].value == b.headers()[i].value);
  }
}

// Checks what every parsed request must satisfy, and runs the accessors over it.
void check_request(const HttpRequest& r, const HttpParseResult& res, std::string_view in) {
  require(res.header_bytes > 0 && res.header_bytes <= in.size() && res.header_bytes <= HttpParser::kMaxHeadBytes);
  require(in.substr(res.header_bytes - 2, 2) == "\r\n");
  require(!r.method().empty() && !r.target().empty() && !r.path().empty());
  require(r.path()[0] == '/' || r.path() == "*");
  require(r.headers().size() <= HttpParser::kMaxHeaders);
  for (const HttpHeader& h : r.headers()) {
    require(!h.name.empty());
    require(h.value.empty() || (h.value.front() != ' ' && h.value.back() != ' '));
    header_has_token(h.value, "upgrade");
  }
  if (r.version() == HttpVersion::http11) require(r.find_header("host") != nullptr);
  char buf[64];
  r.query_param("a", std::span<char>(buf));
  std::string value;
  r.query_param("b", value);
  http_status_for_body(r, 1024);
}

struct ParseOutcome {
  std::unique_ptr<std::string> first_piece;  // kept only when the request points into it
  HttpParseResult result;
  HttpRequest request;
};

void parse_in_pieces(std::string_view in, size_t cut1, size_t cut2, ParseOutcome& out) {
  HttpParser parser;
  // The first piece lives in a buffer that is gone before the next call, unless it held the head.
  auto first = std::make_unique<std::string>(in.substr(0, cut1));
  out.result = parser.parse(*first, out.request);
  if (out.result.status != ParseStatus::incomplete) {
    out.first_piece = std::move(first);
    return;
  }
  first.reset();
  out.result = parser.parse(in.substr(0, cut2), out.request);
  if (out.result.status == ParseStatus::incomplete) out.result = parser.parse(in, out.request);
}

struct DecodeOutcome {
  ChunkedResult last;
  size_t consumed = 0;
  std::string body;
};

DecodeOutcome decode(std::string_view in, size_t cut1, size_t cut2, bool bytewise) {
  ChunkedDecoder dec(1 << 16);
  DecodeOutcome d;
  size_t at = 0;
  auto feed = [&](size_t to) {
    if (to <= at) return true;
    d.last = dec.feed(in.substr(at, to - at), d.body);
    require(d.last.consumed <= to - at);
    d.consumed += d.last.consumed;
    at = to;
    return d.last.status == ChunkedStatus::need_more;
  };
  if (bytewise) {
    for (size_t i = 1; i <= in.size(); ++i) {
      if (!feed(i)) break;
    }
  } else if (feed(cut1) && feed(cut2)) {
    feed(in.size());
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t cut1 = in.size() * data[0] / 256;
  const size_t cut2 = cut1 + (in.size() - cut1) * data[1] / 256;

  ParseOutcome whole;
  HttpParser parser;
  whole.result = parser.parse(in, whole.request);
  require(whole.result.status != ParseStatus::incomplete || in.size() <= HttpParser::kMaxHeadBytes);
  if (whole.result.status == ParseStatus::error) {
    require(whole.result.http_status == http_status_for(whole.result.error));
    require(whole.result.http_status >= 400 && whole.result.http_status <= 505);
  }
  if (whole.result.status == ParseStatus::complete) check_request(whole.request, whole.result, in);

  ParseOutcome pieces;
  parse_in_pieces(in, cut1, cut2, pieces);
  require(pieces.result == whole.result);
  if (whole.result.status == ParseStatus::complete) require_same(pieces.request, whole.request);

  if (in.size() <= 2048) {
    ParseOutcome bytes;
    HttpParser p;
    for (size_t i = 0; i <= in.size(); ++i) {
      bytes.result = p.parse(in.substr(0, i), bytes.request);
      if (bytes.result.status != ParseStatus::incomplete) break;
    }
    require(bytes.result == whole.result);
    if (whole.result.status == ParseStatus::complete) require_same(bytes.request, whole.request);
  }

  // The chunked decoder: on the body of a chunked request, or on the raw input.
  std::string_view body = in;
  if (whole.result.status == ParseStatus::complete && whole.request.body_kind() == BodyKind::chunked) {
    body = in.substr(whole.result.header_bytes);
  }
  const size_t b1 = body.size() * data[0] / 256;
  const size_t b2 = b1 + (body.size() - b1) * data[1] / 256;
  const DecodeOutcome d_whole = decode(body, 0, 0, false);
  const DecodeOutcome d_cut = decode(body, b1, b2, false);
  require(d_cut.last.status == d_whole.last.status && d_cut.last.error == d_whole.last.error);
  require(d_cut.body == d_whole.body);
  if (d_whole.last.status == ChunkedStatus::done) require(d_cut.consumed == d_whole.consumed);
  require(d_whole.body.size() <= body.size());
  if (body.size() <= 2048) {
    const DecodeOutcome d_bytes = decode(body, 0, 0, true);
    require(d_bytes.last.status == d_whole.last.status && d_bytes.last.error == d_whole.last.error);
    require(d_bytes.body == d_whole.body);
  }
  return 0;
}
