#pragma once
// RawWsClient: a blocking WebSocket client for the conformance suite, written with plain syscalls and
// its own frame encoder and decoder, so the suite never checks ringcast's codec with itself. The
// handshake's accept value is computed with OpenSSL's SHA-1, not with ringcast's handshake helpers.
//
// It sends anything, valid or not: any opcode, RSV bits, masked or not, any length encoding (including
// the non-minimal 16- and 64-bit forms, or a declared length that differs from the payload sent), and
// it delivers its bytes in one write, one byte per write, or in chunks of a chosen size (a Delivery).
// It reads frames as they come (with a timeout), reads up to the server's TCP close, and reports what
// a conformance test must check: the frames, the close code and reason, and whether TCP ended with a
// FIN after the close frame (clean) or a reset.
//
// One client per connection, used by one thread. Frames it decodes are checked only for being
// decodable; whether the server's frames obey RFC 6455 (unmasked, RSV 0, minimal lengths) is
// reported in RawFrame for the tests to assert.
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

// Opcodes as numbers (RFC 6455 §5.2), so the suite can also send the reserved ones.
namespace op {
inline constexpr uint8_t kContinuation = 0x0;
inline constexpr uint8_t kText = 0x1;
inline constexpr uint8_t kBinary = 0x2;
inline constexpr uint8_t kClose = 0x8;
inline constexpr uint8_t kPing = 0x9;
inline constexpr uint8_t kPong = 0xA;
}  // namespace op

// RSV bits as in the first byte of a frame.
inline constexpr uint8_t kRsv1Bit = 0x40;
inline constexpr uint8_t kRsv2Bit = 0x20;
inline constexpr uint8_t kRsv3Bit = 0x10;

// How the client's bytes leave: every send in one write(), one byte per write() (so every header
// and payload is split at every possible boundary), or in writes of `chunk` bytes.
struct Delivery {
  size_t chunk = 0;  // 0: one write

  static constexpr Delivery whole() { return {0}; }
  static constexpr Delivery bytewise() { return {1}; }
  static constexpr Delivery chunks(size_t n) { return {n}; }
  std::string name() const {
    return chunk == 0 ? "one write" : chunk == 1 ? "byte by byte" : "chunks of " + std::to_string(chunk);
  }
};
// The two ways every case runs.
inline constexpr Delivery kBothDeliveries[] = {Delivery::whole(), Delivery::bytewise()};

// A frame to send. Defaults give a valid client frame with a random mask key.
struct FrameSpec {
  uint8_t opcode = op::kText;
  std::string_view payload;
  bool fin = true;
  uint8_t rsv = 0;                   // kRsv1Bit | kRsv2Bit | kRsv3Bit
  bool masked = true;                // RFC 6455 §5.3: clients must mask
  int length_form = -1;              // -1: minimal; 0: 7-bit; 2: 16-bit; 8: 64-bit (may be non-minimal)
  std::optional<uint64_t> declared;  // a length to put in the header instead of payload.size()
  std::optional<uint32_t> mask_key;  // default: random
};

// A frame the server sent, as it was on the wire.
struct RawFrame {
  uint8_t opcode = 0;
  bool fin = false;
  uint8_t rsv = 0;
  bool masked = false;          // servers must not mask (RFC 6455 §5.1)
  bool minimal_length = true;   // the length used the shortest form (RFC 6455 §5.2)
  std::string payload;          // unmasked

  // Close frames: the status code (1005 when the payload is empty, -1 when it is 1 byte long).
  int close_code() const {
    if (payload.empty()) return 1005;
    if (payload.size() < 2) return -1;
    return static_cast<uint8_t>(payload[0]) << 8 | static_cast<uint8_t>(payload[1]);
  }
  std::string_view close_reason() const {
    return payload.size() < 2 ? std::string_view{} : std::string_view(payload).substr(2);
  }
};

enum class ReadStatus : uint8_t { frame, timeout, eof, reset };

inline const char* to_string(ReadStatus s) {
  switch (s) {
    case ReadStatus::frame: return "frame";
    case ReadStatus::timeout: return "timeout";
    case ReadStatus::eof: return "eof";
    case ReadStatus::reset: return "reset";
  }
  return "?";
}

// What reading up to the end of the connection found.
struct CloseOutcome {
  std::vector<RawFrame> before;  // frames that came before the close frame
  bool close_received = false;
  int code = -1;                 // of the close frame (1005: empty payload)
  std::string reason;
  bool server_frames_ok = true;  // every frame unmasked, RSV 0, minimal length
  ReadStatus end = ReadStatus::timeout;  // how TCP ended after the close frame (eof: a FIN)
  bool clean() const { return close_received && end == ReadStatus::eof; }
};

// Encodes one frame (RFC 6455 §5.2) the way `spec` says, valid or not.
inline std::string encode_frame(const FrameSpec& spec, std::mt19937& rng) {
  const uint64_t len = spec.declared.value_or(spec.payload.size());
  int form = spec.length_form;
  if (form < 0) form = len < 126 ? 0 : len <= 0xFFFF ? 2 : 8;
  std::string out;
  out.reserve(14 + spec.payload.size());
  out.push_back(static_cast<char>((spec.fin ? 0x80 : 0) | (spec.rsv & 0x70) | (spec.opcode & 0x0F)));
  const uint8_t mask_bit = spec.masked ? 0x80 : 0;
  if (form == 0) {
    out.push_back(static_cast<char>(mask_bit | (len & 0x7F)));
  } else if (form == 2) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(len >> 8 & 0xFF));
    out.push_back(static_cast<char>(len & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(len >> (8 * i) & 0xFF));
  }
  if (!spec.masked) {
    out.append(spec.payload);
    return out;
  }
  const uint32_t key = spec.mask_key.value_or(static_cast<uint32_t>(rng()));
  const uint8_t k[4] = {static_cast<uint8_t>(key >> 24), static_cast<uint8_t>(key >> 16),
                        static_cast<uint8_t>(key >> 8), static_cast<uint8_t>(key)};
  out.append(reinterpret_cast<const char*>(k), 4);
  const size_t base = out.size();
  out.resize(base + spec.payload.size());
  // RFC 6455 §5.3: octet i is XORed with key octet i mod 4.
  for (size_t i = 0; i < spec.payload.size(); ++i) {
    out[base + i] = static_cast<char>(static_cast<uint8_t>(spec.payload[i]) ^ k[i & 3]);
  }
  return out;
}

// A close frame's payload: the code in network order, then the reason.
inline std::string close_payload(uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p.append(reason);
  return p;
}

class RawWsClient {
 public:
  static constexpr int kDefaultTimeoutMs = 5000;

  // Connects to 127.0.0.1:port (check connected()); handshake() upgrades the connection.
  // `receive_buffer` > 0: a client whose receive window stays that small (see connect_blocking).
  explicit RawWsClient(uint16_t port, Delivery delivery = Delivery::whole(), int receive_buffer = 0)
      : RawWsClient("127.0.0.1", port, delivery, receive_buffer) {}
  // To `host` (an IPv4 address).
  RawWsClient(const std::string& host, uint16_t port, Delivery delivery = Delivery::whole(), int receive_buffer = 0)
      : fd_(connect_blocking(host, port, receive_buffer)), delivery_(delivery), rng_(std::random_device{}()) {}
  ~RawWsClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawWsClient(RawWsClient&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), delivery_(o.delivery_), rng_(o.rng_), in_(std::move(o.in_)),
        in_pos_(o.in_pos_), response_head_(std::move(o.response_head_)) {}
  RawWsClient& operator=(RawWsClient&&) = delete;
  RawWsClient(const RawWsClient&) = delete;
  RawWsClient& operator=(const RawWsClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  Delivery delivery() const { return delivery_; }
  void set_delivery(Delivery d) { delivery_ = d; }
  std::mt19937& rng() { return rng_; }

  // RFC 6455 §4.1: sends the opening handshake with a random 16-byte key and `extra_headers` (each
  // line ending in \r\n, e.g. a Sec-WebSocket-Extensions offer), and checks the answer: status 101,
  // Upgrade: websocket, Connection: Upgrade, and Sec-WebSocket-Accept derived from the key.
  // `early` (frames) goes in the same write, right behind the request head. The handshake goes in
  // one write whatever the delivery.
  bool handshake(std::string_view path = "/", std::string_view extra_headers = {}, std::string_view early = {}) {
    if (fd_ < 0) return false;
    uint8_t raw_key[16];
    for (auto& b : raw_key) b = static_cast<uint8_t>(rng_());
    const std::string key = base64(raw_key, sizeof raw_key);
    std::string req = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n";
    req.append(extra_headers);
    req += "\r\n";
    req.append(early);
    if (!write_all(req) || !read_http_head()) return false;
    if (response_head_.compare(0, 13, "HTTP/1.1 101 ") != 0) return false;
    if (!header_equals("upgrade", "websocket") || !header_equals("connection", "upgrade")) return false;
    return header("sec-websocket-accept") == accept_for(key);
  }

  // RFC 6455 §4.2.2: the Sec-WebSocket-Accept for a key, base64(SHA-1(key + GUID)).
  static std::string accept_for(std::string_view key) {
    const std::string s = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
    return base64(digest, sizeof digest);
  }

  // Reads an HTTP response head (status line and headers, up to the empty line) into response_head();
  // bytes after it stay buffered as frames. False when none came within the timeout.
  bool read_http_head(int timeout_ms = kDefaultTimeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t end;
    while ((end = in_.find("\r\n\r\n", in_pos_)) == std::string::npos) {
      if (fill(deadline) != ReadStatus::frame) return false;
    }
    response_head_ = in_.substr(in_pos_, end + 4 - in_pos_);
    in_pos_ = end + 4;
    return true;
  }

  // Reads exactly `n` bytes that follow a response head (a body of a known length).
  bool read_bytes(size_t n, std::string& out, int timeout_ms = kDefaultTimeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (in_.size() - in_pos_ < n) {
      if (fill(deadline) != ReadStatus::frame) return false;
    }
    out = in_.substr(in_pos_, n);
    in_pos_ += n;
    return true;
  }

  // The server's handshake answer (status line and headers).
  const std::string& response_head() const { return response_head_; }
  // Its status code (0 when there is none).
  int status() const {
    if (response_head_.size() < 12 || response_head_.compare(0, 5, "HTTP/") != 0) return 0;
    return std::atoi(response_head_.c_str() + 9);
  }
  // Every value of a response header (name case-insensitive), one per line it appears on, in order.
  std::vector<std::string> headers(std::string_view name) const {
    std::vector<std::string> values;
    size_t pos = response_head_.find("\r\n");
    while (pos != std::string::npos && pos + 2 < response_head_.size()) {
      const size_t start = pos + 2;
      const size_t eol = response_head_.find("\r\n", start);
      if (eol == std::string::npos || eol == start) break;
      const std::string_view line(response_head_.data() + start, eol - start);
      const size_t colon = line.find(':');
      if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        values.emplace_back(v);
      }
      pos = eol;
    }
    return values;
  }
  // A response header's value (first occurrence), or "" when absent.
  std::string header(std::string_view name) const {
    std::vector<std::string> values = headers(name);
    return values.empty() ? std::string() : std::move(values.front());
  }

  // ---- Sending (each call goes out according to the delivery) ----

  // Sends bytes as they are. False when the connection refused them (reset or closed by the server).
  bool send_raw(std::string_view bytes) {
    if (delivery_.chunk == 0) return write_all(bytes);
    for (size_t off = 0; off < bytes.size(); off += delivery_.chunk) {
      if (!write_all(bytes.substr(off, delivery_.chunk))) return false;
    }
    return true;
  }
  bool send_frame(const FrameSpec& spec) { return send_raw(encode_frame(spec, rng_)); }
  std::string encode(const FrameSpec& spec) { return encode_frame(spec, rng_); }

  bool send_text(std::string_view s, bool fin = true) {
    return send_frame({.opcode = op::kText, .payload = s, .fin = fin});
  }
  bool send_binary(std::string_view s, bool fin = true) {
    return send_frame({.opcode = op::kBinary, .payload = s, .fin = fin});
  }
  bool send_continuation(std::string_view s, bool fin) {
    return send_frame({.opcode = op::kContinuation, .payload = s, .fin = fin});
  }
  bool send_ping(std::string_view s = {}) { return send_frame({.opcode = op::kPing, .payload = s}); }
  bool send_pong(std::string_view s = {}) { return send_frame({.opcode = op::kPong, .payload = s}); }
  bool send_close(uint16_t code, std::string_view reason = {}) {
    const std::string p = close_payload(code, reason);
    return send_frame({.opcode = op::kClose, .payload = p});
  }
  bool send_close_empty() { return send_frame({.opcode = op::kClose}); }

  // Half-closes: our FIN, the socket still reads.
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // ---- Reading ----

  // The next frame, or why there is none within `timeout_ms`.
  ReadStatus read_frame(RawFrame& out, int timeout_ms = kDefaultTimeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (decode(out)) return ReadStatus::frame;
      const ReadStatus s = fill(deadline);
      if (s != ReadStatus::frame) return s;
    }
  }

  // Reads frames until the server's close frame, then until TCP ends. `reply` answers the close with
  // the same code, as an endpoint completing the closing handshake does (RFC 6455 §5.5.1).
  CloseOutcome read_until_close(int timeout_ms = kDefaultTimeoutMs, bool reply = true) {
    CloseOutcome o;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    RawFrame f;
    for (;;) {
      const int left = remaining_ms(deadline);
      const ReadStatus s = read_frame(f, left);
      if (s != ReadStatus::frame) {
        o.end = s;
        return o;  // no close frame
      }
      if (f.masked || f.rsv != 0 || !f.minimal_length) o.server_frames_ok = false;
      if (f.opcode == op::kClose) break;
      o.before.push_back(std::move(f));
    }
    o.close_received = true;
    o.code = f.close_code();
    o.reason = std::string(f.close_reason());
    if (reply) {
      const int code = f.close_code();
      if (code > 0 && code != 1005) {
        send_close(static_cast<uint16_t>(code));
      } else {
        send_close_empty();
      }
    }
    o.end = read_eof(deadline);
    return o;
  }

  // After the closing handshake: waits for the end of TCP, skipping any bytes (eof, reset or timeout).
  ReadStatus read_eof(std::chrono::steady_clock::time_point deadline) {
    in_.clear();
    in_pos_ = 0;
    for (;;) {
      const ReadStatus s = fill(deadline);
      if (s != ReadStatus::frame) return s;
    }
  }
  ReadStatus read_eof(int timeout_ms = kDefaultTimeoutMs) {
    return read_eof(std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms));
  }

 private:
  static int remaining_ms(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
  }

  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
      const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] + 32) : b[i];
      if (x != y) return false;
    }
    return true;
  }
  bool header_equals(std::string_view name, std::string_view value) const { return iequals(header(name), value); }

  static std::string base64(const uint8_t* data, size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<size_t>(len));
    return out;
  }

  bool write_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One recv() into the input buffer, waiting at most until `deadline`. Returns frame when bytes came.
  ReadStatus fill(std::chrono::steady_clock::time_point deadline) {
    if (in_pos_ > 0 && in_pos_ * 2 >= in_.size()) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    for (;;) {
      const int r = ::poll(&p, 1, remaining_ms(deadline));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return ReadStatus::timeout;
      break;
    }
    // Into a buffer on the stack: a client keeps only what it received (a thousand idle clients in a
    // test that measures the server's memory hold a few hundred bytes each).
    char buf[64 << 10];
    ssize_t n;
    do {
      n = ::recv(fd_, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) in_.append(buf, static_cast<size_t>(n));
    if (n > 0) return ReadStatus::frame;
    return n == 0 ? ReadStatus::eof : ReadStatus::reset;  // ECONNRESET (or EPIPE after a reset)
  }

  // Decodes one whole frame from the input buffer, if there is one.
  bool decode(RawFrame& out) {
    const size_t avail = in_.size() - in_pos_;
    const auto* p = reinterpret_cast<const uint8_t*>(in_.data() + in_pos_);
    if (avail < 2) return false;
    const uint8_t len7 = p[1] & 0x7F;
    const bool masked = (p[1] & 0x80) != 0;
    size_t header = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
    if (avail < header) return false;
    uint64_t len = len7;
    bool minimal = true;
    if (len7 == 126) {
      len = uint64_t{p[2]} << 8 | p[3];
      minimal = len >= 126;
    } else if (len7 == 127) {
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | p[2 + i];
      minimal = len > 0xFFFF && (len >> 63) == 0;
    }
    if (avail - header < len) return false;
    out.opcode = p[0] & 0x0F;
    out.fin = (p[0] & 0x80) != 0;
    out.rsv = p[0] & 0x70;
    out.masked = masked;
    out.minimal_length = minimal;
    out.payload.assign(in_.data() + in_pos_ + header, static_cast<size_t>(len));
    if (masked) {
      const uint8_t* k = p + header - 4;
      for (size_t i = 0; i < out.payload.size(); ++i) out.payload[i] = static_cast<char>(out.payload[i] ^ k[i & 3]);
    }
    in_pos_ += header + static_cast<size_t>(len);
    return true;
  }

  int fd_ = -1;
  Delivery delivery_;
  std::mt19937 rng_;
  std::string in_;      // received bytes; in_pos_ is where the undecoded ones start
  size_t in_pos_ = 0;
  std::string response_head_;
};

}  // namespace ringcast::test
