// RESP2 replies parsed in place: every type, every prefix of a reply incomplete, a reply resumed
// from bytes that moved, framing errors malformed, limits enforced (and each byte looked at a
// bounded number of times); commands written by RespWriter read back by the parser.
#include <ringcast/net/redis/detail/resp_parser.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <ringcast/net/redis/detail/resp_writer.hpp>
#include "tests/support/net_test_support.hpp"

using namespace ringcast;

TEST_CASE("resp: simple strings, errors, integers and bulk strings parse to views of the input") {
  RespParser p;
  REQUIRE(p.parse("+OK\r\n") == RespParser::Status::complete);
  CHECK(p.root().type == RespType::simple);
  CHECK(p.root().text == "OK");
  CHECK(p.consumed() == 5);

  REQUIRE(p.parse("-ERR unknown command\r\n") == RespParser::Status::complete);
  CHECK(p.root().type == RespType::error);
  CHECK(p.root().text == "ERR unknown command");

  REQUIRE(p.parse(":-42\r\n") == RespParser::Status::complete);
  CHECK(p.root().type == RespType::integer);
  CHECK(p.root().integer == -42);

  const std::string bulk = "$5\r\nhe\r\no\r\n";  // a bulk string may hold CR LF
  REQUIRE(p.parse(bulk) == RespParser::Status::complete);
  CHECK(p.root().type == RespType::bulk);
  CHECK(p.root().text == "he\r\no");
  CHECK(p.root().text.data() == bulk.data() + 4);
  CHECK(p.consumed() == bulk.size());

  REQUIRE(p.parse("$0\r\n\r\n") == RespParser::Status::complete);
  CHECK(p.root().is_bulk(""));
  REQUIRE(p.parse("$-1\r\n") == RespParser::Status::complete);
  CHECK(p.root().type == RespType::null);
  REQUIRE(p.parse("*-1\r\n") == RespParser::Status::complete);
  CHECK(p.root().type == RespType::null);
}

TEST_CASE("resp: a pub/sub message is an array of three bulk strings; nested arrays keep their elements") {
  RespParser p;
  const std::string m = "*3\r\n$7\r\nmessage\r\n$9\r\nroom:life\r\n$3\r\n42!\r\n:7\r\n";
  REQUIRE(p.parse(m) == RespParser::Status::complete);
  const RespValue& r = p.root();
  REQUIRE(r.type == RespType::array);
  REQUIRE(r.integer == 3);
  CHECK(p.child(r, 0).is_bulk("message"));
  CHECK(p.child(r, 1).is_bulk("room:life"));
  CHECK(p.child(r, 2).is_bulk("42!"));
  CHECK(p.consumed() == m.size() - 4);  // the next reply is left for the next parse

  REQUIRE(p.parse("*2\r\n*2\r\n:1\r\n:2\r\n*0\r\n") == RespParser::Status::complete);
  const RespValue& outer = p.root();
  REQUIRE(outer.integer == 2);
  const RespValue& inner = p.child(outer, 0);
  REQUIRE(inner.type == RespType::array);
  CHECK(p.child(inner, 0).integer == 1);
  CHECK(p.child(inner, 1).integer == 2);
  CHECK(p.child(outer, 1).type == RespType::array);
  CHECK(p.child(outer, 1).integer == 0);
}

TEST_CASE("resp: every strict prefix of a reply is incomplete, and the whole is complete") {
  const std::vector<std::string> replies = {
      "+OK\r\n", "-ERR x\r\n", ":12345\r\n", "$3\r\nabc\r\n", "$-1\r\n",
      "*3\r\n$9\r\nsubscribe\r\n$6\r\nroom:a\r\n:1\r\n", "*2\r\n*1\r\n+x\r\n$0\r\n\r\n",
  };
  RespParser p;
  for (const auto& r : replies) {
    CAPTURE(r);
    for (size_t n = 0; n < r.size(); ++n) {
      CAPTURE(n);
      CHECK(p.parse(std::string_view(r).substr(0, n)) == RespParser::Status::incomplete);
    }
    CHECK(p.parse(r) == RespParser::Status::complete);
    CHECK(p.consumed() == r.size());
  }
}

TEST_CASE("resp: bytes that cannot be RESP2 are malformed") {
  RespParser p;
  for (std::string_view bad : {"?x\r\n", "+OK\rX", ":12a\r\n", ":\r\n", "$-2\r\n", "$3\r\nabcd\r\n", "*-5\r\n",
                               ":1234567890123456789\r\n", "$x\r\n", "*1\r\n!\r\n"}) {
    CAPTURE(bad);
    CHECK(p.parse(bad) == RespParser::Status::malformed);
  }
}

TEST_CASE("resp: a reply fed a few bytes at a time, from a buffer that moves, gives the same values") {
  const std::string reply = "*4\r\n$7\r\nmessage\r\n*2\r\n+OK\r\n:-17\r\n$-1\r\n$12\r\nhello\r\nworld\r\n";
  for (size_t step : {1, 2, 3, 7}) {
    CAPTURE(step);
    RespParser p;
    std::unique_ptr<char[]> held;
    RespParser::Status st = RespParser::Status::incomplete;
    for (size_t n = step; st == RespParser::Status::incomplete; n += step) {
      // Each time a fresh copy, as a connection's leftover input moves when it grows.
      const size_t have = n < reply.size() ? n : reply.size();
      held = std::make_unique<char[]>(have);
      std::memcpy(held.get(), reply.data(), have);
      st = p.parse(std::string_view(held.get(), have));
      if (have < reply.size()) REQUIRE(st == RespParser::Status::incomplete);
    }
    REQUIRE(st == RespParser::Status::complete);
    CHECK(p.consumed() == reply.size());
    const RespValue& r = p.root();
    REQUIRE(r.integer == 4);
    CHECK(p.child(r, 0).is_bulk("message"));
    CHECK(p.child(r, 0).text.data() == held.get() + 8);  // a view of the last input
    const RespValue& inner = p.child(r, 1);
    CHECK(p.child(inner, 0).type == RespType::simple);
    CHECK(p.child(inner, 0).text == "OK");
    CHECK(p.child(inner, 1).integer == -17);
    CHECK(p.child(r, 2).type == RespType::null);
    CHECK(p.child(r, 3).is_bulk("hello\r\nworld"));
  }
}

TEST_CASE("resp: after reset() a parse starts a new reply") {
  RespParser p;
  CHECK(p.parse("$10\r\nabc") == RespParser::Status::incomplete);
  p.reset();
  REQUIRE(p.parse("+PONG\r\n") == RespParser::Status::complete);
  CHECK(p.root().text == "PONG");
}

TEST_CASE("resp: limits on line, bulk and array length, element count and depth hold, and say which broke") {
  RespParser p(RespParser::Limits{.max_line = 8, .max_bulk = 4, .max_array = 3, .max_values = 4, .max_depth = 2});
  CHECK(p.parse("$4\r\nabcd\r\n") == RespParser::Status::complete);
  CHECK(p.parse("$5\r\n") == RespParser::Status::malformed);
  CHECK(p.error() == RespParser::Error::bulk_too_long);
  CHECK(p.parse("*3\r\n:1\r\n:2\r\n:3\r\n") == RespParser::Status::complete);
  CHECK(p.parse("*4\r\n") == RespParser::Status::malformed);
  CHECK(p.error() == RespParser::Error::array_too_long);
  CHECK(p.parse("*2\r\n*2\r\n:1\r\n:2\r\n:3\r\n") == RespParser::Status::malformed);  // 1 + 2 + 2 values
  CHECK(p.error() == RespParser::Error::too_many_values);
  CHECK(p.parse("*1\r\n*1\r\n:1\r\n") == RespParser::Status::complete);
  CHECK(p.parse("*1\r\n*1\r\n*1\r\n:1\r\n") == RespParser::Status::malformed);
  CHECK(p.error() == RespParser::Error::too_deep);
  CHECK(p.parse("+12345678\r\n") == RespParser::Status::complete);
  CHECK(p.parse("+123456789\r\n") == RespParser::Status::malformed);
  CHECK(p.error() == RespParser::Error::line_too_long);
  // A line is too long as soon as more than max_line bytes came without its end.
  CHECK(p.parse("+12345678") == RespParser::Status::incomplete);
  CHECK(p.parse("+123456789") == RespParser::Status::malformed);
  CHECK(p.error() == RespParser::Error::line_too_long);
  CHECK(p.parse("?") == RespParser::Status::malformed);
  CHECK(p.error() == RespParser::Error::syntax);
  CHECK(std::string(RespParser::describe(RespParser::Error::bulk_too_long)).find("bulk") != std::string::npos);
  // A count the bytes cannot hold yet is only incomplete (and nothing is reserved for it).
  RespParser q;
  CHECK(q.parse("*1000000\r\n:1\r\n") == RespParser::Status::incomplete);
  // A 512 MB bulk string is refused at its header, before any of it is awaited.
  RespParser d;
  CHECK(d.parse("$536870912\r\n") == RespParser::Status::malformed);
  CHECK(d.error() == RespParser::Error::bulk_too_long);
}

TEST_CASE("resp: a 16 MiB line arriving 4 KiB at a time is searched once, not once per piece") {
  // Searching the whole line again on every piece costs (16 MiB)² / 8 KiB: some 34 GB of memchr,
  // seconds of CPU. Resumed, the 16 MiB are searched once.
  constexpr size_t kLine = 16u << 20, kPiece = 4096;
  std::string line(kLine + 3, 'a');
  line[0] = '+';
  line[kLine + 1] = '\r';
  line[kLine + 2] = '\n';
  RespParser p(RespParser::Limits{.max_line = kLine});
  const auto begin = std::chrono::steady_clock::now();
  RespParser::Status st = RespParser::Status::incomplete;
  for (size_t n = kPiece; st == RespParser::Status::incomplete; n += kPiece) {
    st = p.parse(std::string_view(line).substr(0, n < line.size() ? n : line.size()));
  }
  const auto took = std::chrono::steady_clock::now() - begin;
  REQUIRE(st == RespParser::Status::complete);
  CHECK(p.root().text.size() == kLine);
  CHECK(took < std::chrono::milliseconds(500));
}

TEST_CASE("resp: a command written by RespWriter, whole or in pieces, reads back as the same array") {
  const std::string big(70000, 'x');
  const std::string c = test::resp_command({"PUBLISH", "room:lobby", big, ""});
  RespParser p;
  REQUIRE(p.parse(c) == RespParser::Status::complete);
  CHECK(p.consumed() == c.size());
  REQUIRE(p.root().integer == 4);
  CHECK(p.child(p.root(), 0).is_bulk("PUBLISH"));
  CHECK(p.child(p.root(), 1).is_bulk("room:lobby"));
  CHECK(p.child(p.root(), 2).is_bulk(big));
  CHECK(p.child(p.root(), 3).is_bulk(""));

  std::string pieces(RespWriter::array_size(1) + RespWriter::bulk_size(11), '\0');
  RespWriter w(reinterpret_cast<uint8_t*>(pieces.data()));
  w.array(1);
  w.bulk_header(11);
  w.raw("room:");
  w.raw("lobby!");
  w.end_bulk();
  CHECK(w.written() == pieces.size());
  REQUIRE(p.parse(pieces) == RespParser::Status::complete);
  CHECK(p.child(p.root(), 0).is_bulk("room:lobby!"));
  CHECK(RespWriter::digits(0) == 1);
  CHECK(RespWriter::digits(9) == 1);
  CHECK(RespWriter::digits(10) == 2);
  CHECK(RespWriter::digits(1000000) == 7);
}
