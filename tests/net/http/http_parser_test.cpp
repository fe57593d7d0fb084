#include <ringcast/net/http/detail/http_parser.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace ringcast;

namespace {

// A parse answer with its own copy of the bytes the request points into.
struct Parsed {
  std::unique_ptr<std::string> bytes;
  HttpParseResult result;
  HttpRequest request;
};

// Parses `data` in one call.
Parsed parse_whole(std::string_view input) {
  Parsed p;
  p.bytes = std::make_unique<std::string>(input);
  HttpParser parser;
  p.result = parser.parse(*p.bytes, p.request);
  return p;
}

// Feeds growing prefixes of `data` (cut at `cuts`, then the whole), as a connection receiving it in
// pieces would, and returns the first answer that is not `incomplete`.
Parsed parse_cut(std::string_view input, const std::vector<size_t>& cuts) {
  Parsed p;
  p.bytes = std::make_unique<std::string>(input);
  const std::string_view data = *p.bytes;
  HttpParser parser;
  for (const size_t cut : cuts) {
    p.result = parser.parse(data.substr(0, cut), p.request);
    if (p.result.status != ParseStatus::incomplete) return p;
  }
  p.result = parser.parse(data, p.request);
  return p;
}

Parsed parse_bytewise(std::string_view data) {
  std::vector<size_t> cuts;
  for (size_t i = 0; i < data.size(); ++i) cuts.push_back(i);
  return parse_cut(data, cuts);
}

void check_same_request(const HttpRequest& a, const HttpRequest& b) {
  CHECK(a.method() == b.method());
  CHECK(a.target() == b.target());
  CHECK(a.path() == b.path());
  CHECK(a.query() == b.query());
  CHECK(a.version() == b.version());
  CHECK(a.body_kind() == b.body_kind());
  CHECK(a.content_length() == b.content_length());
  CHECK(a.keep_alive() == b.keep_alive());
  REQUIRE(a.headers().size() == b.headers().size());
  for (size_t i = 0; i < a.headers().size(); ++i) {
    CHECK(a.headers()[i].name == b.headers()[i].name);
    CHECK(a.headers()[i].value == b.headers()[i].value);
  }
}

// The whole input, byte by byte and at random cuts all give the same answer; returns the whole one.
Parsed parse_every_way(std::string_view data) {
  Parsed whole = parse_whole(data);
  Parsed bytewise = parse_bytewise(data);
  CHECK(bytewise.result == whole.result);
  std::mt19937 rng(uint32_t(data.size()));
  for (int round = 0; round < 8 && !data.empty(); ++round) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while (true) {
      at += 1 + rng() % (data.size() / 3 + 1);
      if (at >= data.size()) break;
      cuts.push_back(at);
    }
    Parsed cut = parse_cut(data, cuts);
    CHECK(cut.result == whole.result);
    if (whole.result.status == ParseStatus::complete) check_same_request(cut.request, whole.request);
  }
  if (whole.result.status == ParseStatus::complete) check_same_request(bytewise.request, whole.request);
  return whole;
}

HttpParseError error_of(std::string_view data) {
  const Parsed p = parse_every_way(data);
  CHECK(p.result.status == ParseStatus::error);
  CHECK(p.result.http_status == http_status_for(p.result.error));
  return p.result.error;
}

std::string with_host(std::string_view request_line, std::string_view more_headers = "") {
  return std::string(request_line) + "\r\nHost: example.com\r\n" + std::string(more_headers) + "\r\n";
}

}  // namespace

TEST_CASE("a simple GET is parsed into method, path, query, version and headers") {
  const std::string req =
      "GET /chat/room?name=lobby&x=1 HTTP/1.1\r\n"
      "Host: example.com\r\n"
      "User-Agent: test\r\n"
      "Accept: */*\r\n"
      "\r\n";
  const Parsed p = parse_every_way(req);
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.result.header_bytes == req.size());
  CHECK(p.result.http_status == 0);
  const HttpRequest& r = p.request;
  CHECK(r.method() == "GET");
  CHECK(r.method_id() == HttpMethod::get);
  CHECK(r.target() == "/chat/room?name=lobby&x=1");
  CHECK(r.path() == "/chat/room");
  CHECK(r.query() == "name=lobby&x=1");
  CHECK(r.version() == HttpVersion::http11);
  CHECK(r.headers().size() == 3);
  CHECK(r.header("host") == "example.com");
  CHECK(r.header("USER-AGENT") == "test");
  CHECK(r.find_header("cookie") == nullptr);
  CHECK(r.header("cookie").empty());
  CHECK(r.body_kind() == BodyKind::none);
  CHECK(r.keep_alive());
  // Zero copy: the views point into the caller's bytes.
  HttpParser parser;
  HttpRequest direct;
  REQUIRE(parser.parse(req, direct).status == ParseStatus::complete);
  CHECK(direct.path().data() == req.data() + 4);
  CHECK(direct.headers()[1].value.data() == req.data() + req.find("test"));
}

TEST_CASE("a POST with Content-Length reports the body framing and where the body starts") {
  const std::string head = with_host("POST /submit HTTP/1.1", "Content-Type: text/plain\r\nContent-Length: 11\r\n");
  const std::string req = head + "hello world";
  const Parsed p = parse_every_way(req);
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.result.header_bytes == head.size());
  CHECK(p.request.method_id() == HttpMethod::post);
  CHECK(p.request.body_kind() == BodyKind::length);
  CHECK(p.request.content_length() == 11);
  CHECK(req.substr(p.result.header_bytes) == "hello world");
}

TEST_CASE("a chunked POST reports chunked framing") {
  const Parsed p = parse_every_way(with_host("POST /up HTTP/1.1", "Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n");
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.body_kind() == BodyKind::chunked);
  CHECK(p.request.content_length() == 0);
}

TEST_CASE("Content-Length 0 is a length-framed empty body") {
  const Parsed p = parse_every_way(with_host("POST / HTTP/1.1", "Content-Length: 0\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.body_kind() == BodyKind::length);
  CHECK(p.request.content_length() == 0);
}

TEST_CASE("absolute-form targets are accepted and their path and query extracted") {
  Parsed p = parse_every_way(with_host("GET http://example.com:8080/a/b?x=1 HTTP/1.1"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.target() == "http://example.com:8080/a/b?x=1");
  CHECK(p.request.path() == "/a/b");
  CHECK(p.request.query() == "x=1");

  p = parse_every_way(with_host("GET https://example.com HTTP/1.1"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.path() == "/");
  CHECK(p.request.query().empty());

  p = parse_every_way(with_host("GET ws://example.com?room=1 HTTP/1.1"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.path() == "/");
  CHECK(p.request.query() == "room=1");
}

TEST_CASE("asterisk-form is accepted for OPTIONS only") {
  const Parsed p = parse_every_way(with_host("OPTIONS * HTTP/1.1"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.method_id() == HttpMethod::options);
  CHECK(p.request.path() == "*");
  CHECK(error_of(with_host("GET * HTTP/1.1")) == HttpParseError::bad_target);
}

TEST_CASE("other request-target forms are refused with 400") {
  CHECK(error_of(with_host("CONNECT example.com:443 HTTP/1.1")) == HttpParseError::bad_target);
  CHECK(error_of(with_host("GET example.com/a HTTP/1.1")) == HttpParseError::bad_target);
  CHECK(error_of(with_host("GET http:///a HTTP/1.1")) == HttpParseError::bad_target);
  CHECK(error_of(with_host("GET 1http://a/ HTTP/1.1")) == HttpParseError::bad_target);
  CHECK(error_of(with_host("GET  / HTTP/1.1")) == HttpParseError::bad_target);
}

TEST_CASE("a pipelined pair is parsed one request after the other") {
  const std::string first = with_host("POST /a HTTP/1.1", "Content-Length: 3\r\n");
  const std::string second = with_host("GET /b HTTP/1.1");
  const std::string stream = first + "abc" + second;
  HttpParser parser;
  HttpRequest r;
  HttpParseResult res = parser.parse(stream, r);
  REQUIRE(res.status == ParseStatus::complete);
  CHECK(res.header_bytes == first.size());
  CHECK(r.path() == "/a");
  const size_t next = res.header_bytes + r.content_length();
  res = parser.parse(std::string_view(stream).substr(next), r);
  REQUIRE(res.status == ParseStatus::complete);
  CHECK(res.header_bytes == second.size());
  CHECK(r.path() == "/b");
  CHECK(r.method_id() == HttpMethod::get);
}

TEST_CASE("HTTP/1.0 needs no Host and closes unless asked to keep alive") {
  Parsed p = parse_every_way("GET /old HTTP/1.0\r\n\r\n");
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.version() == HttpVersion::http10);
  CHECK_FALSE(p.request.keep_alive());

  p = parse_every_way("GET /old HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.keep_alive());

  p = parse_every_way("GET /old HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK_FALSE(p.request.keep_alive());

  CHECK(error_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == HttpParseError::duplicate_host);
}

TEST_CASE("HTTP/1.1 keeps alive unless a Connection header lists close") {
  Parsed p = parse_every_way(with_host("GET / HTTP/1.1", "Connection: Upgrade, Close\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK_FALSE(p.request.keep_alive());
  CHECK(p.request.connection_has("upgrade"));

  p = parse_every_way(with_host("GET / HTTP/1.1", "Connection: keep-alive\r\nConnection: upgrade\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.keep_alive());
  CHECK(p.request.connection_has("Upgrade"));
  CHECK_FALSE(p.request.connection_has("close"));

  p = parse_every_way(with_host("GET / HTTP/1.1", "Connection: closed\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.keep_alive());
}

TEST_CASE("field values lose surrounding whitespace and may be empty") {
  const Parsed p = parse_every_way(with_host("GET / HTTP/1.1", "X-A: \t a b \t\r\nX-Empty:\r\nX-Spaces:   \r\nX-Obs: caf\xc3\xa9\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.header("x-a") == "a b");
  CHECK(p.request.header("x-empty").empty());
  CHECK(p.request.find_header("x-empty") != nullptr);
  CHECK(p.request.header("x-spaces").empty());
  CHECK(p.request.header("x-obs") == "caf\xc3\xa9");
}

TEST_CASE("empty lines before the request line are skipped") {
  const std::string req = std::string("\r\n\r\n") + with_host("GET / HTTP/1.1");
  const Parsed p = parse_every_way(req);
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.result.header_bytes == req.size());
  CHECK(p.request.path() == "/");
  CHECK(error_of(std::string("\n") + with_host("GET / HTTP/1.1")) == HttpParseError::bad_line_ending);
  CHECK(error_of(std::string("\r\r\n") + with_host("GET / HTTP/1.1")) == HttpParseError::bad_line_ending);
}

TEST_CASE("method names are case-sensitive tokens") {
  Parsed p = parse_every_way(with_host("DELETE /x HTTP/1.1"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.method_id() == HttpMethod::del);
  p = parse_every_way(with_host("get /x HTTP/1.1"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.method_id() == HttpMethod::other);
  CHECK(p.request.method() == "get");
  p = parse_every_way(with_host("M-SEARCH * HTTP/1.1"));
  CHECK(p.result.error == HttpParseError::bad_target);  // a token method, but "*" is for OPTIONS
  CHECK(error_of(with_host("G(T / HTTP/1.1")) == HttpParseError::bad_method);
  CHECK(error_of(with_host(" GET / HTTP/1.1")) == HttpParseError::bad_method);
  CHECK(error_of(with_host("GET")) == HttpParseError::bad_request_line);
}

TEST_CASE("the request line is refused with 400 for bad bytes and shapes") {
  CHECK(error_of(with_host("GET /\x01 HTTP/1.1")) == HttpParseError::bad_request_line);
  CHECK(error_of(with_host("GET /caf\xc3\xa9 HTTP/1.1")) == HttpParseError::bad_request_line);
  CHECK(error_of(with_host("GET /\t HTTP/1.1")) == HttpParseError::bad_request_line);
  CHECK(error_of(with_host("GET /")) == HttpParseError::bad_request_line);  // HTTP/0.9
  CHECK(error_of(with_host("GET / HTTP/1.1 ")) == HttpParseError::bad_request_line);
  CHECK(error_of(with_host("GET /a b HTTP/1.1")) == HttpParseError::bad_request_line);
}

TEST_CASE("the version must be HTTP/1.0 or HTTP/1.1; other versions are 505, garbage 400") {
  CHECK(error_of(with_host("GET / HTTP/1.2")) == HttpParseError::unsupported_version);
  CHECK(error_of(with_host("GET / HTTP/2.0")) == HttpParseError::unsupported_version);
  CHECK(error_of(with_host("GET / HTTP/0.9")) == HttpParseError::unsupported_version);
  CHECK(parse_whole(with_host("GET / HTTP/2.0")).result.http_status == 505);
  CHECK(error_of(with_host("GET / http/1.1")) == HttpParseError::bad_version);
  CHECK(error_of(with_host("GET / HTTP/11")) == HttpParseError::bad_version);
  CHECK(error_of(with_host("GET / HTTP/1.10")) == HttpParseError::bad_version);
  CHECK(error_of(with_host("GET / HTTP/1.x")) == HttpParseError::bad_version);
  CHECK(error_of(with_host("GET / FOO")) == HttpParseError::bad_version);
  CHECK(parse_whole(with_host("GET / FOO")).result.http_status == 400);
}

TEST_CASE("line endings must be CRLF: bare LF and bare CR are 400") {
  CHECK(error_of("GET / HTTP/1.1\nHost: a\r\n\r\n") == HttpParseError::bad_line_ending);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\n\r\n") == HttpParseError::bad_line_ending);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n\n") == HttpParseError::bad_line_ending);
  CHECK(error_of("GET / HTTP/1.1\rHost: a\r\n\r\n") == HttpParseError::bad_line_ending);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == HttpParseError::bad_line_ending);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\n\rx") == HttpParseError::bad_line_ending);
  CHECK(error_of("GET / HTTP/1.1\r\nHo\nst: a\r\n\r\n") == HttpParseError::bad_line_ending);
}

TEST_CASE("field names must be tokens followed directly by a colon") {
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A : 1\r\n")) == HttpParseError::space_before_colon);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A\t: 1\r\n")) == HttpParseError::space_before_colon);
  CHECK(error_of(with_host("GET / HTTP/1.1", ": 1\r\n")) == HttpParseError::bad_header_name);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X(A): 1\r\n")) == HttpParseError::bad_header_name);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A\r\n")) == HttpParseError::bad_header_name);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X\xc3\xa9: 1\r\n")) == HttpParseError::bad_header_name);
}

TEST_CASE("obsolete line folding is refused") {
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A: 1\r\n  continued\r\n")) == HttpParseError::obs_fold);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A: 1\r\n\tcontinued\r\n")) == HttpParseError::obs_fold);
  CHECK(error_of("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == HttpParseError::obs_fold);
}

TEST_CASE("control characters in field values are refused") {
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A: a\x01z\r\n")) == HttpParseError::bad_header_value);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-A: a\x7fz\r\n")) == HttpParseError::bad_header_value);
  CHECK(error_of(with_host("GET / HTTP/1.1", std::string("X-A: a\0z\r\n", 10))) == HttpParseError::bad_header_value);
  CHECK(error_of(with_host("GET / HTTP/1.1", "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\x1b!\r\n")) ==
        HttpParseError::bad_header_value);
  const Parsed p = parse_every_way(with_host("GET / HTTP/1.1", "X-Tab: a\tb\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.header("x-tab") == "a\tb");
}

TEST_CASE("HTTP/1.1 needs exactly one Host, and a Host is never empty") {
  CHECK(error_of("GET / HTTP/1.1\r\n\r\n") == HttpParseError::missing_host);
  CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n") == HttpParseError::duplicate_host);
  CHECK(error_of("GET / HTTP/1.1\r\nHOST:\r\n\r\n") == HttpParseError::empty_host);
  CHECK(error_of("GET / HTTP/1.1\r\nHost:  \t \r\n\r\n") == HttpParseError::empty_host);  // OWS is not a value
  CHECK(error_of("GET / HTTP/1.0\r\nHost:\r\n\r\n") == HttpParseError::empty_host);
  CHECK(error_of("GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n") == HttpParseError::empty_host);
  CHECK(http_status_for(HttpParseError::empty_host) == 400);
  const Parsed p = parse_every_way("GET / HTTP/1.1\r\nHOST: a\r\n\r\n");
  CHECK(p.result.status == ParseStatus::complete);
}

TEST_CASE("Content-Length must be digits only, and given once") {
  auto with_cl = [](std::string_view headers) { return with_host("POST / HTTP/1.1", std::string(headers)); };
  CHECK(error_of(with_cl("Content-Length: +5\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length: -5\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length: 5 5\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length: 0x5\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length:\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length: 5,\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length: 18446744073709551616\r\n")) == HttpParseError::bad_content_length);
  CHECK(error_of(with_cl("Content-Length: 5, 6\r\n")) == HttpParseError::conflicting_content_length);
  CHECK(error_of(with_cl("Content-Length: 5\r\nContent-Length: 6\r\n")) == HttpParseError::conflicting_content_length);
  // RFC 9110 §8.6 lets a recipient refuse the same value twice; a proxy may not read it as we would.
  CHECK(error_of(with_cl("Content-Length: 5\r\ncontent-length: 5\r\n")) == HttpParseError::duplicate_content_length);
  CHECK(error_of(with_cl("Content-Length: 7 ,7\r\n")) == HttpParseError::duplicate_content_length);
  CHECK(error_of(with_cl("Content-Length: 0, 0, 0\r\n")) == HttpParseError::duplicate_content_length);
  CHECK(http_status_for(HttpParseError::duplicate_content_length) == 400);

  Parsed p = parse_every_way(with_cl("Content-Length: 18446744073709551615\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.content_length() == UINT64_MAX);
  p = parse_every_way(with_cl("Content-Length: 007\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.content_length() == 7);
}

TEST_CASE("Transfer-Encoding: chunked must be final; other codings are 501") {
  auto with_te = [](std::string_view headers) { return with_host("POST / HTTP/1.1", std::string(headers)); };
  CHECK(error_of(with_te("Transfer-Encoding: gzip\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: identity\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: chunked, gzip\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: chunked, chunked\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) ==
        HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: chunked;q=1\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding:\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: xchunked\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: \"chunked\"\r\n")) == HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")) ==
        HttpParseError::bad_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: gzip, chunked\r\n")) == HttpParseError::unsupported_transfer_encoding);
  CHECK(error_of(with_te("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")) ==
        HttpParseError::unsupported_transfer_encoding);
  CHECK(parse_whole(with_te("Transfer-Encoding: gzip, chunked\r\n")).result.http_status == 501);

  Parsed p = parse_every_way(with_te("Transfer-Encoding: \tChunked \r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.body_kind() == BodyKind::chunked);
  p = parse_every_way(with_te("Transfer-Encoding: ,chunked,\r\n"));  // empty list elements are ignored
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(p.request.body_kind() == BodyKind::chunked);
}

TEST_CASE("request smuggling shapes are refused") {
  auto head = [](std::string_view headers) { return with_host("POST / HTTP/1.1", std::string(headers)); };
  CHECK(error_of(head("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")) == HttpParseError::length_and_chunked);
  CHECK(error_of(head("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == HttpParseError::length_and_chunked);
  CHECK(error_of(head("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n")) == HttpParseError::length_and_chunked);
  CHECK(error_of(head("Transfer-Encoding : chunked\r\n")) == HttpParseError::space_before_colon);
  CHECK(error_of(head("Transfer-Encoding: chunked\r\n Content-Length: 5\r\n")) == HttpParseError::obs_fold);
  CHECK(error_of(head("Content-Length: 5\r\nContent-Length: 50\r\n")) == HttpParseError::conflicting_content_length);
  CHECK(error_of(head("Transfer-Encoding: chunked\rX: 1\r\n")) == HttpParseError::bad_line_ending);
  CHECK(error_of(head("Transfer-Encoding: chunked\nContent-Length: 5\r\n")) == HttpParseError::bad_line_ending);
  CHECK(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == HttpParseError::chunked_in_http10);
}

TEST_CASE("the request line may be 8 KiB; one byte more is 414") {
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1";
  const std::string at_limit = prefix + std::string(HttpParser::kMaxRequestLine - prefix.size() - suffix.size(), 'a') + suffix;
  REQUIRE(at_limit.size() == 8192);
  const Parsed ok = parse_every_way(with_host(at_limit));
  CHECK(ok.result.status == ParseStatus::complete);
  const std::string over = prefix + std::string(HttpParser::kMaxRequestLine - prefix.size() - suffix.size() + 1, 'a') + suffix;
  CHECK(error_of(with_host(over)) == HttpParseError::request_line_too_long);
  CHECK(parse_whole(with_host(over)).result.http_status == 414);

  // Refused as soon as the 8193rd byte arrives, without waiting for the CRLF.
  HttpParser parser;
  HttpRequest r;
  const std::string endless = std::string("GET /") + std::string(8187, 'a');
  CHECK(parser.parse(endless, r).status == ParseStatus::incomplete);
  CHECK(parser.parse(endless + "a", r).error == HttpParseError::request_line_too_long);
}

TEST_CASE("the head may be 16 KiB; one byte more is 431") {
  const std::string start = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ";
  const size_t fill = HttpParser::kMaxHeadBytes - start.size() - 4;  // value, CRLF, final CRLF
  const std::string at_limit = start + std::string(fill, 'v') + "\r\n\r\n";
  REQUIRE(at_limit.size() == 16384);
  const Parsed ok = parse_every_way(at_limit);
  REQUIRE(ok.result.status == ParseStatus::complete);
  CHECK(ok.result.header_bytes == 16384);
  const std::string over = start + std::string(fill + 1, 'v') + "\r\n\r\n";
  CHECK(error_of(over) == HttpParseError::header_section_too_large);
  CHECK(parse_whole(over).result.http_status == 431);

  // An unfinished head is refused once it passes the limit.
  HttpParser parser;
  HttpRequest r;
  const std::string endless = start + std::string(fill + 4, 'v');
  REQUIRE(endless.size() == 16384);
  CHECK(parser.parse(endless, r).status == ParseStatus::incomplete);
  CHECK(parser.parse(endless + "v", r).error == HttpParseError::header_section_too_large);
}

TEST_CASE("100 field lines are allowed; 101 is 431") {
  std::string fields;
  for (int i = 1; i < 100; ++i) fields.append("X-").append(std::to_string(i)).append(": v\r\n");
  const Parsed ok = parse_every_way(with_host("GET / HTTP/1.1", fields));  // Host + 99
  REQUIRE(ok.result.status == ParseStatus::complete);
  CHECK(ok.request.headers().size() == 100);
  CHECK(ok.request.header("X-99") == "v");
  CHECK(error_of(with_host("GET / HTTP/1.1", fields + "X-100: v\r\n")) == HttpParseError::too_many_headers);
  CHECK(parse_whole(with_host("GET / HTTP/1.1", fields + "X-100: v\r\n")).result.http_status == 431);
}

TEST_CASE("an error is reported as soon as its byte arrives, before the head is complete") {
  HttpParser parser;
  HttpRequest r;
  const std::string part = "GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01";
  CHECK(parser.parse(part.substr(0, part.size() - 1), r).status == ParseStatus::incomplete);
  CHECK(parser.parse(part, r).error == HttpParseError::bad_header_value);
  // A TLS ClientHello sent to a plain HTTP port is refused at its first byte.
  HttpParser tls;
  CHECK(tls.parse(std::string_view("\x16\x03\x01\x02\x00", 5), r).error == HttpParseError::bad_request_line);
}

TEST_CASE("an incomplete head is checked only once: the parser resumes where it stopped") {
  const std::string req = with_host("GET /resume?q=1 HTTP/1.1", "X-A: 1\r\n");
  HttpParser parser;
  HttpRequest r;
  size_t last = 0;
  for (size_t cut = 1; cut < req.size(); ++cut) {
    REQUIRE(parser.parse(std::string_view(req).substr(0, cut), r).status == ParseStatus::incomplete);
    CHECK(parser.scanned() >= last);
    CHECK(parser.scanned() <= cut);
    last = parser.scanned();
  }
  CHECK(last >= req.size() - 2);
  const HttpParseResult res = parser.parse(req, r);
  REQUIRE(res.status == ParseStatus::complete);
  CHECK(r.path() == "/resume");
  CHECK(r.query() == "q=1");
  CHECK(r.header("x-a") == "1");
  CHECK(parser.scanned() == 0);  // ready for the next request
}

TEST_CASE("a resumed head gives views into the latest buffer") {
  const std::string req = with_host("GET /moved HTTP/1.1", "X-A: value\r\n");
  HttpParser parser;
  HttpRequest r;
  std::string first = req.substr(0, 20);
  REQUIRE(parser.parse(first, r).status == ParseStatus::incomplete);
  first.assign(first.size(), '#');  // the connection reuses its receive buffer
  const std::string copy = req;      // the head now lives in a per-connection buffer
  REQUIRE(parser.parse(copy, r).status == ParseStatus::complete);
  CHECK(r.path() == "/moved");
  CHECK(r.path().data() >= copy.data());
  CHECK(r.path().data() < copy.data() + copy.size());
  CHECK(r.header("x-a") == "value");
}

TEST_CASE("every error names its rule and maps to its status") {
  for (int e = int(HttpParseError::none); e <= int(HttpParseError::chunked_in_http10); ++e) {
    CHECK_FALSE(http_parse_error_name(HttpParseError(e)).empty());
  }
  CHECK(http_status_for(HttpParseError::none) == 0);
  CHECK(http_status_for(HttpParseError::bad_line_ending) == 400);
  CHECK(http_status_for(HttpParseError::request_line_too_long) == 414);
  CHECK(http_status_for(HttpParseError::too_many_headers) == 431);
  CHECK(http_status_for(HttpParseError::unsupported_transfer_encoding) == 501);
  CHECK(http_status_for(HttpParseError::unsupported_version) == 505);
}

TEST_CASE("a body limit gives 413 for a larger Content-Length") {
  Parsed p = parse_whole(with_host("POST / HTTP/1.1", "Content-Length: 100\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(http_status_for_body(p.request, 100) == 0);
  CHECK(http_status_for_body(p.request, 99) == 413);
  p = parse_whole(with_host("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\n"));
  REQUIRE(p.result.status == ParseStatus::complete);
  CHECK(http_status_for_body(p.request, 0) == 0);  // chunked bodies are limited while decoded
}

TEST_CASE("random bytes never crash the parser and give the same answer whole or in pieces") {
  std::mt19937 rng(12345);
  const std::string alphabet = "GET /?=&:; \t\r\n\r\nHTTP/1.1Host:hContent-Length:0Transfer-Encoding:chunked\x01\x80";
  for (int round = 0; round < 300; ++round) {
    std::string s = round % 2 ? with_host("GET / HTTP/1.1") : std::string();
    const size_t n = rng() % 120;
    for (size_t i = 0; i < n; ++i) {
      const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      s.insert(at, 1, alphabet[rng() % alphabet.size()]);
    }
    parse_every_way(s);
  }
}
