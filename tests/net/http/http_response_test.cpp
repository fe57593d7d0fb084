#include <ringcast/net/http/http_response.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>

using namespace ringcast;

TEST_CASE("every status the project uses has its RFC 9110 reason phrase") {
  CHECK(http_reason_phrase(101) == "Switching Protocols");
  CHECK(http_reason_phrase(200) == "OK");
  CHECK(http_reason_phrase(204) == "No Content");
  CHECK(http_reason_phrase(301) == "Moved Permanently");
  CHECK(http_reason_phrase(304) == "Not Modified");
  CHECK(http_reason_phrase(400) == "Bad Request");
  CHECK(http_reason_phrase(401) == "Unauthorized");
  CHECK(http_reason_phrase(403) == "Forbidden");
  CHECK(http_reason_phrase(404) == "Not Found");
  CHECK(http_reason_phrase(405) == "Method Not Allowed");
  CHECK(http_reason_phrase(411) == "Length Required");
  CHECK(http_reason_phrase(413) == "Content Too Large");
  CHECK(http_reason_phrase(414) == "URI Too Long");
  CHECK(http_reason_phrase(426) == "Upgrade Required");
  CHECK(http_reason_phrase(429) == "Too Many Requests");
  CHECK(http_reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(http_reason_phrase(500) == "Internal Server Error");
  CHECK(http_reason_phrase(501) == "Not Implemented");
  CHECK(http_reason_phrase(503) == "Service Unavailable");
  CHECK(http_reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(http_reason_phrase(599).empty());
}

TEST_CASE("a response serializes status line, headers, Content-Length and body in one piece") {
  HttpResponse r(200);
  REQUIRE(r.add_header("Content-Type", "text/plain"));
  r.body("hello");
  std::string out = "previous;";
  r.serialize(out);
  CHECK(out == "previous;HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(r.serialized_size() == out.size() - 9);
}

TEST_CASE("Content-Length is always set, even for an empty body") {
  std::string out;
  HttpResponse(404).serialize(out);
  CHECK(out == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("keep_alive(false) adds Connection: close; a Date is written when given") {
  std::string out;
  HttpResponse r(200);
  r.keep_alive(false).date("Sun, 06 Nov 1994 08:49:37 GMT").body("x");
  r.serialize(out);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
}

TEST_CASE("1xx, 204 and 304 carry neither Content-Length nor body") {
  std::string out;
  HttpResponse up(101);
  REQUIRE(up.add_header("Upgrade", "websocket"));
  REQUIRE(up.add_header("Connection", "Upgrade"));
  up.serialize(out);
  CHECK(out == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  out.clear();
  HttpResponse(204).body("ignored").serialize(out);
  CHECK(out == "HTTP/1.1 204 No Content\r\n\r\n");
  out.clear();
  HttpResponse(304).body("ignored").serialize(out);
  CHECK(out == "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST_CASE("a HEAD answer declares the body length without sending the body") {
  std::string out;
  HttpResponse(200).body("12345").head_only(true).serialize(out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
}

TEST_CASE("an external body sets Content-Length and leaves the body to the caller") {
  std::string out;
  HttpResponse(200).external_body(1234567).serialize(out);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 1234567\r\n\r\n");
}

TEST_CASE("headers that would split the response or fake its framing are refused") {
  HttpResponse r(200);
  CHECK_FALSE(r.add_header("X-Bad", "a\r\nSet-Cookie: x"));
  CHECK_FALSE(r.add_header("X-Bad", "a\nb"));
  CHECK_FALSE(r.add_header("X-Bad", std::string_view("a\0b", 3)));
  CHECK_FALSE(r.add_header("X Bad", "v"));
  CHECK_FALSE(r.add_header("X:Bad", "v"));
  CHECK_FALSE(r.add_header("", "v"));
  CHECK_FALSE(r.add_header("Content-Length", "5"));
  CHECK_FALSE(r.add_header("transfer-encoding", "chunked"));
  CHECK(r.add_header("X-Ok", "tab\tand obs-text \xc3\xa9"));
  for (size_t i = 1; i < HttpResponse::kMaxHeaders; ++i) CHECK(r.add_header("X-N", "v"));
  CHECK_FALSE(r.add_header("X-Full", "v"));
  std::string out;
  r.serialize(out);
  CHECK(out.find("X-Bad") == std::string::npos);
  CHECK(out.find("X-Full") == std::string::npos);
}

TEST_CASE("serializing into a buffer writes the same bytes, or nothing when it is too small") {
  HttpResponse r(201);
  REQUIRE(r.add_header("Location", "/items/7"));
  r.body("{}");
  std::string expected;
  r.serialize(expected);
  std::array<char, 256> buf{};
  const size_t n = r.serialize(buf);
  CHECK(std::string_view(buf.data(), n) == expected);
  std::array<char, 16> small{};
  CHECK(r.serialize(small) == 0);
}

TEST_CASE("an unknown status gets an empty reason phrase but a valid status line") {
  std::string out;
  HttpResponse(299).serialize(out);
  CHECK(out.substr(0, 15) == "HTTP/1.1 299 \r\n");
}

TEST_CASE("write_simple_response writes a complete reply") {
  std::string out;
  write_simple_response(out, 413, "text/plain", "too big", false);
  CHECK(out ==
        "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
        "too big");
  out.clear();
  write_simple_response(out, 400, "", "", true);
  CHECK(out == "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("a 405 carries the Allow header") {
  std::string out;
  write_method_not_allowed(out, http_method_bit(HttpMethod::get) | http_method_bit(HttpMethod::head) |
                                    http_method_bit(HttpMethod::post), true);
  CHECK(out == "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("dates are IMF-fixdate in GMT") {
  std::array<char, kHttpDateSize> buf{};
  CHECK(format_http_date(784111777, buf) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(format_http_date(0, buf) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(format_http_date(1709164800, buf) == "Thu, 29 Feb 2024 00:00:00 GMT");
}
