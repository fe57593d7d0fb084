#pragma once
// What the conformance suite (tests/ws/conformance/*_test.cpp) shares: the echo server every case
// talks to, and the checks of what comes back. The suite covers the ground of the Autobahn|Testsuite
// fuzzingclient server cases, one file per group:
//
//   1  framing            framing_test.cpp
//   2  ping/pong          ping_pong_test.cpp
//   3  reserved bits      reserved_bits_test.cpp
//   4  opcodes            opcodes_test.cpp
//   5  fragmentation      fragmentation_test.cpp
//   6  UTF-8              utf8_test.cpp
//   7  closing            closing_test.cpp
//   9  large messages     large_messages_test.cpp
//   10 misc               misc_test.cpp
//   -  heartbeats, idle timeout, closing started by the server: timers_test.cpp
//   -  many connections at once: concurrency_test.cpp
//   -  the opening handshake: handshake_test.cpp
//   12 deflate echo       compression_test.cpp (EchoServer with the route's compression on; the
//   13 deflate errors     client side, which compresses and inflates with zlib itself, is
//                         deflate_client.hpp)
//
// Every case opens its own connection and runs with both deliveries (one write, byte by byte); all
// run in the doctest suite "io", so ctest runs them on every event-loop backend.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/echo_server.hpp"
#include "tests/support/raw_ws_checks.hpp"
#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

// Repeats `s` up to `n` bytes.
inline std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) out.append(s.substr(0, std::min(s.size(), n - out.size())));
  return out;
}

// `n` bytes of valid UTF-8 text with 1- to 4-byte code points (ASCII padding keeps the length exact).
inline std::string text_payload(size_t n) {
  constexpr std::string_view unit = "Hello \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9d\x84\x9e \xe2\x82\xac! ";
  std::string out;
  out.reserve(n);
  while (out.size() + unit.size() <= n) out.append(unit);
  out.append(n - out.size(), '*');
  return out;
}

// `n` bytes that are not UTF-8 and whose order matters (every byte value, in a 251-byte cycle).
inline std::string binary_payload(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i % 251) ^ 0xFE);
  return out;
}

}  // namespace ringcast::test
