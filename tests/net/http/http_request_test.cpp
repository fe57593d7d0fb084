#include <ringcast/net/http/http_request.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>

#include <ringcast/net/http/detail/http_parser.hpp>

using namespace ringcast;

namespace {

// Parses a head that must be valid; `storage` keeps the bytes the request points into.
HttpRequest parse(const std::string& storage) {
  HttpRequest r;
  HttpParser parser;
  const HttpParseResult res = parser.parse(storage, r);
  REQUIRE(res.status == ParseStatus::complete);
  return r;
}

}  // namespace

TEST_CASE("header_has_token finds a token in a comma list, case-insensitively, around whitespace") {
  CHECK(header_has_token("keep-alive, Upgrade", "upgrade"));
  CHECK(header_has_token("Upgrade", "upgrade"));
  CHECK(header_has_token(" \tupgrade\t ", "Upgrade"));
  CHECK(header_has_token("a,,b , ,upgrade,", "upgrade"));
  CHECK_FALSE(header_has_token("upgrades", "upgrade"));
  CHECK_FALSE(header_has_token("keep-alive", "upgrade"));
  CHECK_FALSE(header_has_token("", "upgrade"));
  CHECK_FALSE(header_has_token("up grade", "upgrade"));
}

TEST_CASE("ascii_iequals compares ASCII letters without case and nothing else") {
  CHECK(ascii_iequals("Content-Length", "content-length"));
  CHECK_FALSE(ascii_iequals("Content-Length", "content-lengt"));
  CHECK_FALSE(ascii_iequals("[", "{"));  // 0x5b and 0x7b differ by the case bit but are not letters
  CHECK(ascii_iequals("", ""));
}

TEST_CASE("percent_decode decodes escapes, optionally '+', and refuses malformed escapes") {
  std::array<char, 64> buf{};
  auto decode = [&](std::string_view in, bool plus) -> std::string {
    const auto n = percent_decode(in, buf.data(), plus);
    return n ? std::string(buf.data(), *n) : std::string("<bad>");
  };
  CHECK(decode("a%20b%2Fc%2f", false) == "a b/c/");
  CHECK(decode("a+b", false) == "a+b");
  CHECK(decode("a+b", true) == "a b");
  CHECK(decode("%41%4a%4A", false) == "AJJ");
  CHECK(decode("%00", false) == std::string(1, '\0'));
  CHECK(decode("%", false) == "<bad>");
  CHECK(decode("%4", false) == "<bad>");
  CHECK(decode("%zz", false) == "<bad>");
  CHECK(decode("abc%", false) == "<bad>");
  CHECK(decode("", false).empty());
  // In place.
  std::string s = "x%41y";
  const auto n = percent_decode(s, s.data(), false);
  REQUIRE(n);
  CHECK(std::string_view(s.data(), *n) == "xAy");
}

TEST_CASE("query parameters are found by decoded name and decoded into a buffer or a string") {
  const std::string head = "GET /p?a=1&b=hello+world&c=%41%42&d&e=%zz&%66oo=bar&a=2&empty= HTTP/1.1\r\nHost: h\r\n\r\n";
  const HttpRequest r = parse(head);
  CHECK(r.query_param_raw("a") == "1");  // the first one wins
  CHECK(r.query_param_raw("b") == "hello+world");
  CHECK(r.query_param_raw("d") == "");
  CHECK(r.query_param_raw("empty") == "");
  CHECK_FALSE(r.query_param_raw("zzz").has_value());
  CHECK(r.query_param_raw("foo") == "bar");  // "%66oo" decodes to "foo"

  std::array<char, 16> buf{};
  CHECK(r.query_param("b", buf) == "hello world");
  CHECK(r.query_param("c", buf) == "AB");
  CHECK(r.query_param("d", buf) == "");
  CHECK_FALSE(r.query_param("e", buf).has_value());    // malformed escape
  CHECK_FALSE(r.query_param("nope", buf).has_value());
  std::array<char, 4> small{};
  CHECK_FALSE(r.query_param("b", small).has_value());  // "hello world" does not fit
  std::array<char, 2> two{};
  CHECK(r.query_param("c", two) == "AB");               // "%41%42" decodes to exactly 2 bytes

  std::string out = "junk";
  CHECK(r.query_param("b", out));
  CHECK(out == "hello world");
  CHECK_FALSE(r.query_param("e", out));
  CHECK(out.empty());
  CHECK_FALSE(r.query_param("nope", out));
}

TEST_CASE("a request without a query has no parameters") {
  const std::string head = "GET /p HTTP/1.1\r\nHost: h\r\n\r\n";
  const HttpRequest r = parse(head);
  CHECK(r.query().empty());
  CHECK_FALSE(r.query_param_raw("a").has_value());
}

TEST_CASE("method names map to the enum and back, case-sensitively") {
  CHECK(http_method_from("GET") == HttpMethod::get);
  CHECK(http_method_from("HEAD") == HttpMethod::head);
  CHECK(http_method_from("POST") == HttpMethod::post);
  CHECK(http_method_from("PUT") == HttpMethod::put);
  CHECK(http_method_from("DELETE") == HttpMethod::del);
  CHECK(http_method_from("PATCH") == HttpMethod::patch);
  CHECK(http_method_from("OPTIONS") == HttpMethod::options);
  CHECK(http_method_from("CONNECT") == HttpMethod::connect);
  CHECK(http_method_from("TRACE") == HttpMethod::trace);
  CHECK(http_method_from("get") == HttpMethod::other);
  CHECK(http_method_from("PROPFIND") == HttpMethod::other);
  for (size_t i = 0; i + 1 < kHttpMethodCount; ++i) {
    CHECK(http_method_from(http_method_name(HttpMethod(i))) == HttpMethod(i));
  }
  CHECK(http_method_name(HttpMethod::other).empty());
  CHECK(http_method_name(HttpMethod::any).empty());
}

TEST_CASE("append_allow lists the methods of a set in a fixed order") {
  std::string out;
  append_allow(out, http_method_bit(HttpMethod::post) | http_method_bit(HttpMethod::get) |
                        http_method_bit(HttpMethod::head));
  CHECK(out == "GET, HEAD, POST");
  out.clear();
  append_allow(out, 0);
  CHECK(out.empty());
}
