// The chat's JSON writer (apps/chat/json_writer.hpp): structure, RFC 8259 §7 escaping, and output that
// stays valid JSON and valid UTF-8 whatever bytes it is given (checked by parsing it back with simdjson).
#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "apps/chat/json_writer.hpp"
#include <ringcast/ws/codec/utf8_validator.hpp>

using ringcast::chat::append_json_string;
using ringcast::chat::JsonWriter;

namespace {

std::string json_quoted(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// Parses `json` (a string literal) back; nullopt when it is not valid JSON.
std::optional<std::string> parse_string(const std::string& json) {
  simdjson::dom::parser parser;
  std::string_view s;
  if (parser.parse(json).get(s)) return std::nullopt;
  return std::string(s);
}

}  // namespace

TEST_CASE("json writer: commas and colons go between members and elements, at every depth") {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("a").value(1)
      .key("b").begin_array().value(true).value(false).null().value("x").begin_object().end_object().end_array()
      .key("c").begin_object().key("d").begin_array().end_array().end_object()
      .key("e").value(std::numeric_limits<uint64_t>::max())
      .key("f").value(int64_t{-42})
      .end_object();
  CHECK(out == R"({"a":1,"b":[true,false,null,"x",{}],"c":{"d":[]},"e":18446744073709551615,"f":-42})");
  CHECK(w.complete());
}

TEST_CASE("json writer: raw() inserts JSON written earlier as one value") {
  std::string inner;
  JsonWriter(inner).begin_object().key("seq").value(7).end_object();
  std::string out;
  JsonWriter(out).begin_object().key("history").begin_array().raw(inner).raw(inner).end_array().end_object();
  CHECK(out == R"({"history":[{"seq":7},{"seq":7}]})");
}

TEST_CASE("json writer: appends to what the string already holds") {
  std::string out = "prefix:";
  JsonWriter(out).begin_array().value("a").end_array();
  CHECK(out == R"(prefix:["a"])");
}

TEST_CASE("json writer: quotes, backslashes and every control character are escaped (RFC 8259 §7)") {
  CHECK(json_quoted("") == R"("")");
  CHECK(json_quoted("plain text / slash") == R"("plain text / slash")");
  CHECK(json_quoted("say \"hi\"") == R"("say \"hi\"")");
  CHECK(json_quoted("a\\b") == R"("a\\b")");
  CHECK(json_quoted("\b\f\n\r\t") == R"("\b\f\n\r\t")");
  CHECK(json_quoted(std::string_view("\0\x01\x1f", 3)) == R"("\u0000\u0001\u001f")");
  CHECK(json_quoted("\x7f") == "\"\x7f\"");  // DEL needs no escape
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    CAPTURE(c);
    const std::string q = json_quoted(s);
    CHECK(q.find(static_cast<char>(c)) == std::string::npos);  // no raw control character left
    CHECK(parse_string(q) == s);
  }
}

TEST_CASE("json writer: UTF-8 passes through unchanged") {
  const std::string s = "héllo wörld ✓ 🎉 \u2028";
  CHECK(json_quoted(s) == "\"" + s + "\"");
}

TEST_CASE("json writer: bytes that are not UTF-8 become U+FFFD, so the output stays valid") {
  CHECK(json_quoted("a\xff" "b") == "\"a\xEF\xBF\xBD" "b\"");
  CHECK(json_quoted("\xc0\xaf") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");              // overlong '/'
  CHECK(json_quoted("\xed\xa0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
  CHECK(json_quoted("\xf4\x90\x80\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // above U+10FFFF
  CHECK(json_quoted("\xe2\x82") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                 // cut short
  CHECK(json_quoted("ok \xe2\x82\xac \"\xff\n") == "\"ok \xe2\x82\xac \\\"\xEF\xBF\xBD\\n\"");
}

TEST_CASE("json writer: random text survives a round trip through simdjson; random bytes still give valid JSON") {
  std::mt19937 rng(20240501);
  const std::string_view pieces[] = {"a", "Z", " ", "\"", "\\", "/", "\n", "\t", std::string_view("\0", 1), "\x1f",
                                     "\x7f", "é", "€", "𝄞", "\u2028"};
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
    const std::string q = json_quoted(s);
    REQUIRE(parse_string(q) == s);
  }
  for (int round = 0; round < 2000; ++round) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    const std::string q = json_quoted(s);
    CAPTURE(s);
    REQUIRE(ringcast::utf8_valid(q));
    REQUIRE(parse_string(q).has_value());
    if (ringcast::utf8_valid(s)) CHECK(parse_string(q) == s);
  }
}
