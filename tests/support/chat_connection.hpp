#pragma once
// The chat protocol from a test's side: ringcast-chat's login (POST /login), its JSON messages, and
// ChatConnection — one chat WebSocket as a browser tab holds it — on the shared raw clients
// (raw_http_client.hpp, raw_ws_client.hpp: written from the RFCs, not from the server's code).
// One thread drives each connection.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <simdjson.h>

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/chat/json_writer.hpp"
#include "apps/chat/password_hash.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/test_process.hpp"

namespace ringcast::test {

using namespace std::chrono_literals;

// A users file of alice, bob, carol and dave (passwords pw-alice, …) with cheap hashes (scrypt ln=10), so
// that the many logins of the tests cost little. Made once per test process.
inline std::string chat_users_file() {
  static const std::string path = [] {
    char dir[] = "/tmp/ringcast-chat-test-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    const std::string p = std::string(dir) + "/users.txt";
    std::ofstream out(p);
    for (const char* name : {"alice", "bob", "carol", "dave"}) {
      out << name << ":" << *chat::hash_password("pw-" + std::string(name), {.log2_n = 10, .r = 8, .p = 1}) << "\n";
    }
    return p;
  }();
  return path;
}

// ---- HTTP ----------------------------------------------------------------------------------

inline std::string login_request(std::string_view body) {
  return fmt::format("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                     body.size(), body);
}

// On 127.0.0.1, or on `host` (an IPv4 address).
inline HttpReply post_login(const std::string& host, uint16_t port, std::string_view body) {
  return ask_once(host, port, login_request(body));
}
inline HttpReply post_login(uint16_t port, std::string_view body) { return post_login("127.0.0.1", port, body); }

// ---- JSON ----------------------------------------------------------------------------------

// A parsed message with its own parser (elements are views into the parser's document, which the
// unique_ptr keeps in place when a ChatJson moves).
class ChatJson {
 public:
  explicit ChatJson(std::string text) : text_(std::move(text)), parser_(std::make_unique<simdjson::dom::parser>()) {
    ok_ = !parser_->parse(text_).get(root_);
  }
  bool ok() const { return ok_; }
  simdjson::dom::element root() const { return root_; }
  std::string type() const { return str(root_["type"]); }
  simdjson::dom::element payload() const { return root_["payload"].value_unsafe(); }
  std::string get(std::string_view key) const { return str(payload()[key]); }
  uint64_t seq() const { return number("seq"); }
  uint64_t number(std::string_view key) const {
    uint64_t n = 0;
    return payload()[key].get(n) ? UINT64_MAX : n;
  }
  bool flag(std::string_view key) const {
    bool b = false;
    return !payload()[key].get(b) && b;
  }
  const std::string& text() const { return text_; }

  static std::string str(simdjson::simdjson_result<simdjson::dom::element> e) {
    std::string_view s;
    return e.get(s) ? std::string("<absent>") : std::string(s);
  }
  static std::string str(simdjson::dom::element e) {
    std::string_view s;
    return e.get(s) ? std::string("<absent>") : std::string(s);
  }
  static std::vector<std::string> strings(simdjson::dom::element array) {
    std::vector<std::string> out;
    simdjson::dom::array elements;
    if (array.get(elements)) return {"<not an array>"};
    for (simdjson::dom::element e : elements) out.push_back(str(e));
    return out;
  }

 private:
  std::string text_;
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

// ---- WebSocket -----------------------------------------------------------------------------

// One chat connection, as a browser tab holds it, on the shared raw client: pings are answered
// (unless told not to), a Close frame is recorded and answered, chat messages go out as JSON.
class ChatConnection {
 public:
  // Opens GET `target` with the upgrade; status() is 101 on success, else the refusal's status.
  ChatConnection(uint16_t port, const std::string& target, const std::string& origin = {})
      : ChatConnection("127.0.0.1", port, target, origin) {}
  // On `host` (an IPv4 address).
  ChatConnection(const std::string& host, uint16_t port, const std::string& target, const std::string& origin = {})
      : ws_(host, port) {
    REQUIRE(ws_.connected());
    ws_.handshake(target, origin.empty() ? std::string() : "Origin: " + origin + "\r\n");
    status_ = ws_.status();
  }

  int status() const { return status_; }
  bool closed() const { return close_code_ != 0; }
  int close_code() const { return close_code_; }
  void answer_pings(bool on) { answer_pings_ = on; }
  int pings_seen() const { return pings_; }

  void send_frame(uint8_t opcode, std::string_view payload) { ws_.send_frame({.opcode = opcode, .payload = payload}); }
  void send(std::string_view text) { ws_.send_text(text); }
  void send_message(std::string_view text) {
    std::string body;
    chat::append_json_string(body, text);
    send(fmt::format(R"({{"type":"send_message","payload":{{"message":{}}}}})", body));
  }
  void change_room(std::string_view room) {
    std::string name;
    chat::append_json_string(name, room);
    send(fmt::format(R"({{"type":"change_room","payload":{{"name":{}}}}})", name));
  }
  // Joins `room` from message `seq` of `epoch` (what a page that was there sends).
  void change_room(std::string_view room, uint64_t epoch, uint64_t seq) {
    std::string name;
    chat::append_json_string(name, room);
    send(fmt::format(R"({{"type":"change_room","payload":{{"name":{},"epoch":{},"seq":{}}}}})", name, epoch, seq));
  }

  // The next text message, or nullopt after `timeout` (or once closed).
  std::optional<std::string> next(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    RawFrame f;
    while (!closed() && read(f, deadline)) {
      if (f.opcode == op::kText) return std::move(f.payload);
    }
    return std::nullopt;
  }

  // The next message as JSON; fails the test when none comes.
  ChatJson next_json(std::chrono::milliseconds timeout = 10s) {
    auto m = next(timeout);
    REQUIRE_MESSAGE(m.has_value(), "no message came (close code ", close_code_, ")");
    ChatJson j(*m);
    REQUIRE_MESSAGE(j.ok(), "not JSON: ", *m);
    return j;
  }
  // The next message of `type`, skipping others (presence notices, say).
  ChatJson next_of(std::string_view type, std::chrono::milliseconds timeout = 10s) {
    for (;;) {
      ChatJson j = next_json(timeout);
      if (j.type() == type) return j;
    }
  }
  // Sends a ping and waits for its pong: the round trip, or nullopt after `timeout` or a close. Text
  // messages that arrive meanwhile are dropped.
  std::optional<std::chrono::microseconds> ping_round_trip(std::string_view payload,
                                                           std::chrono::milliseconds timeout = 5s) {
    const auto t0 = std::chrono::steady_clock::now();
    ws_.send_ping(payload);
    RawFrame f;
    while (!closed() && read(f, t0 + timeout)) {
      if (f.opcode == op::kPong && f.payload == payload) {
        return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
      }
    }
    return std::nullopt;
  }

  // Waits for the server's Close frame (or the end of TCP); returns its code.
  int wait_close(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    RawFrame f;
    while (!closed() && read(f, deadline)) {
    }
    return close_code_;
  }

 private:
  // The next frame before `deadline`, pings and closes handled on the way; false when none came (an
  // end of TCP without a Close frame is recorded as 1006).
  bool read(RawFrame& f, std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const ReadStatus s = ws_.read_frame(f, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (s != ReadStatus::frame) {
      if (s != ReadStatus::timeout) close_code_ = 1006;
      return false;
    }
    REQUIRE_MESSAGE(f.fin, "the server fragments nothing here");
    if (f.opcode == op::kPing) {
      ++pings_;
      if (answer_pings_) ws_.send_pong(f.payload);
    } else if (f.opcode == op::kClose) {
      close_code_ = f.close_code();
      ws_.send_frame({.opcode = op::kClose, .payload = std::string_view(f.payload).substr(0, 2)});
    }
    return true;
  }

  RawWsClient ws_;
  int status_ = 0;
  int close_code_ = 0;
  int pings_ = 0;
  bool answer_pings_ = true;
};

// A ringcast-chat node (2 shards, the users of chat_users_file()) on the Redis at `broker`, with
// `flags`, on this test run's backend.
inline ServerProcess chat_node(const std::string& broker, const std::vector<std::string>& flags = {}) {
  std::vector<std::string> args = {"--port", "0", "--shards", "2", "--host", "127.0.0.1", "--users", chat_users_file(),
                                   "--broker", broker};
  args.insert(args.end(), flags.begin(), flags.end());
  return start_bundled_server("ringcast-chat", std::move(args));
}

inline std::string otp_for(const std::string& host, uint16_t port, const std::string& user) {
  const HttpReply r = post_login(host, port, fmt::format(R"({{"username":"{}","password":"pw-{}"}})", user, user));
  REQUIRE(r.status == 200);
  ChatJson j(r.body);
  REQUIRE(j.ok());
  return ChatJson::str(j.root()["otp"]);
}
inline std::string otp_for(uint16_t port, const std::string& user) { return otp_for("127.0.0.1", port, user); }

// A logged-in tab: login, upgrade, and the room_changed for "general" that every connection starts with.
inline std::unique_ptr<ChatConnection> tab(uint16_t port, const std::string& user) {
  auto c = std::make_unique<ChatConnection>(port, "/ws?otp=" + otp_for(port, user));
  REQUIRE(c->status() == 101);
  ChatJson first = c->next_json();
  CHECK(first.type() == "room_changed");
  CHECK(first.get("name") == "general");
  return c;
}


}  // namespace ringcast::test
