// Boost.Beast peer server: the bench protocol (bench/peers/README.md) on Beast + Asio.
//
//   GET /health      plain HTTP, answers "ok"
//   GET /room/NAME   WebSocket; every message a member sends goes to every member of NAME, sender
//                    included, same opcode, in the order the server received them
//   GET /any/other   WebSocket echo, same opcode
//
//   beast_server [--port P] [--threads N] [--deflate]
//     --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//     --threads N   threads running the one io_context (default 1)
//     --deflate     negotiate permessage-deflate (default off)
//   example: beast_server --port 9001 --threads 1
//
// Prints "listening on PORT" once accepting; SIGINT/SIGTERM stop the io_context and exit 0.
//
// Shape taken from Beast's own examples: websocket_server_fast for the stream (a plain tcp::socket
// under websocket::stream, auto_fragment off, no per-operation timer) and websocket-chat-multi for
// rooms (one immutable shared message per publish, a write queue per connection, a strand per
// connection and a mutex on the room table once the io_context runs on several threads).
//
// Backpressure: Beast has no facility of its own, so each room member has a write queue bounded by
// bytes: a message that finds more than kMaxQueuedBytes unsent for a member closes that member's
// socket instead of being queued. Echo needs no queue: it reads the next message only once the
// previous echo is written, so TCP flow control holds a slow echo client back.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kMaxMessageBytes = std::size_t{16} << 20;
constexpr std::size_t kMaxQueuedBytes = std::size_t{16} << 20;
constexpr std::string_view kRoomPrefix = "/room/";

struct Options {
  unsigned short port = 9001;
  int threads = 1;
  bool deflate = false;
};

// One published message; every member's write queue holds a reference to the same bytes.
struct Message {
  std::string payload;
  bool text = false;
};
using MessagePtr = std::shared_ptr<const Message>;

class WsSession;

// Room name → members. A member is in its room from before its handshake response is written until
// its read loop ends, so a client that has seen 101 receives every later publish.
// Members are raw pointers: a session leaves its room (from its own read handler, which holds a
// reference to it) before it can be destroyed. With one thread nothing is locked; with several,
// every call takes mutex_.
class Rooms {
 public:
  struct Room {
    std::vector<WsSession*> members;
  };

  explicit Rooms(bool threaded) : threaded_(threaded) {}

  Room* join(const std::string& name, WsSession* session) {
    auto guard = lock();
    Room& room = rooms_[name];  // unordered_map nodes are stable: the pointer survives rehashing
    room.members.push_back(session);
    return &room;
  }

  void leave(const std::string& name, Room* room, WsSession* session) {
    auto guard = lock();
    auto& members = room->members;
    for (auto& member : members) {
      if (member == session) {
        member = members.back();
        members.pop_back();
        break;
      }
    }
    if (members.empty()) rooms_.erase(name);
  }

  // Defined after WsSession.
  void publish(Room* room, const MessagePtr& message);

 private:
  std::unique_lock<std::mutex> lock() {
    return threaded_ ? std::unique_lock<std::mutex>(mutex_) : std::unique_lock<std::mutex>();
  }

  const bool threaded_;
  std::mutex mutex_;
  std::unordered_map<std::string, Room> rooms_;
};

// One WebSocket connection. All its state is touched on its socket's executor only (a strand when
// the io_context runs on several threads), so nothing in it is locked.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket&& socket, Rooms& rooms, const Options& options)
      : ws_(std::move(socket)), rooms_(rooms), threaded_(options.threads > 1) {
    ws_.auto_fragment(false);
    ws_.read_message_max(kMaxMessageBytes);
    if (options.deflate) {
      websocket::permessage_deflate pmd;
      pmd.server_enable = true;
      ws_.set_option(pmd);
    }
  }

  void run(const http::request<http::empty_body>& request) {
    std::string_view path(request.target().data(), request.target().size());
    path = path.substr(0, path.find('?'));
    if (path.substr(0, kRoomPrefix.size()) == kRoomPrefix) {
      room_name_.assign(path.substr(kRoomPrefix.size()));
      room_ = rooms_.join(room_name_, this);
    }
    ws_.async_accept(request,
                     beast::bind_front_handler(&WsSession::on_accept, shared_from_this()));
  }

  // Queues one published message. Called on this session's executor.
  void deliver(const MessagePtr& message) {
    if (dropped_) return;
    if (queued_bytes_ > kMaxQueuedBytes) {
      drop();
      return;
    }
    queue_.push_back(message);
    queued_bytes_ += message->payload.size();
    if (open_ && queue_.size() == 1) write_next();
  }

  // Hands a message to this member from whichever thread published it.
  void deliver_from_any_thread(const MessagePtr& message) {
    if (!threaded_) {
      deliver(message);
      return;
    }
    net::post(ws_.get_executor(),
              [self = shared_from_this(), message] { self->deliver(message); });
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) {
      leave();
      return;
    }
    open_ = true;
    if (!queue_.empty()) write_next();
    read();
  }

  void read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      leave();
      return;
    }
    if (room_ == nullptr) {
      ws_.text(ws_.got_text());
      ws_.async_write(buffer_.data(),
                      beast::bind_front_handler(&WsSession::on_echo_written, shared_from_this()));
      return;
    }
    auto message =
        std::make_shared<const Message>(Message{beast::buffers_to_string(buffer_.data()),
                                                ws_.got_text()});
    buffer_.consume(buffer_.size());
    rooms_.publish(room_, message);
    read();
  }

  void on_echo_written(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    buffer_.consume(buffer_.size());
    read();
  }

  void write_next() {
    const Message& message = *queue_.front();
    ws_.text(message.text);
    ws_.async_write(net::buffer(message.payload),
                    beast::bind_front_handler(&WsSession::on_written, shared_from_this()));
  }

  void on_written(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) {
      drop();
      return;
    }
    queued_bytes_ -= queue_.front()->payload.size();
    queue_.pop_front();
    if (!queue_.empty()) write_next();
  }

  // Closing the socket ends the pending read and write with operation_aborted; the read handler
  // then takes the session out of its room.
  void drop() {
    dropped_ = true;
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
  }

  void leave() {
    if (room_ == nullptr) return;
    rooms_.leave(room_name_, room_, this);
    room_ = nullptr;
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  Rooms& rooms_;
  Rooms::Room* room_ = nullptr;  // null: echo connection
  std::string room_name_;
  std::deque<MessagePtr> queue_;  // front: the message being written
  std::size_t queued_bytes_ = 0;
  const bool threaded_;
  bool open_ = false;  // handshake written: queued messages may be sent
  bool dropped_ = false;
};

void Rooms::publish(Room* room, const MessagePtr& message) {
  auto guard = lock();
  for (WsSession* member : room->members) member->deliver_from_any_thread(message);
}

// Reads HTTP requests until one is a WebSocket upgrade, which it hands to a WsSession.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Rooms& rooms, const Options& options)
      : socket_(std::move(socket)), rooms_(rooms), options_(options) {}

  void run() { read(); }

 private:
  void read() {
    parser_.emplace();
    http::async_read(socket_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    http::request<http::empty_body> request = parser_->release();
    if (websocket::is_upgrade(request)) {
      std::make_shared<WsSession>(std::move(socket_), rooms_, options_)->run(request);
      return;
    }
    const bool health = request.target() == "/health";
    response_ = {};
    response_.version(request.version());
    response_.keep_alive(request.keep_alive());
    response_.result(health ? http::status::ok : http::status::upgrade_required);
    response_.set(http::field::content_type, "text/plain");
    response_.body() = health ? "ok" : "upgrade required";
    response_.prepare_payload();
    http::async_write(socket_, response_,
                      beast::bind_front_handler(&HttpSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    if (!response_.keep_alive()) {
      socket_.shutdown(tcp::socket::shutdown_send, ec);
      return;
    }
    read();
  }

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
  Rooms& rooms_;
  const Options& options_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor&& acceptor, Rooms& rooms, const Options& options)
      : ioc_(ioc), acceptor_(std::move(acceptor)), rooms_(rooms), options_(options) {}

  void accept() {
    // Several threads: each connection gets its own strand, as in Beast's multi-threaded examples.
    if (options_.threads > 1) {
      acceptor_.async_accept(net::make_strand(ioc_),
                             beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    } else {
      acceptor_.async_accept(ioc_.get_executor(),
                             beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(std::move(socket), rooms_, options_)->run();
    }
    accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  Rooms& rooms_;
  const Options& options_;
};

[[noreturn]] void usage(int status) {
  std::fputs(
      "usage: beast_server [--port P] [--threads N] [--deflate]\n"
      "  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)\n"
      "  --threads N   threads running the io_context (default 1)\n"
      "  --deflate     negotiate permessage-deflate (default off)\n"
      "example: beast_server --port 9001 --threads 1\n",
      status == 0 ? stdout : stderr);
  std::exit(status);
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> long {
      if (i + 1 >= argc) usage(2);
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0') usage(2);
      return v;
    };
    if (arg == "--port") {
      const long port = value();
      if (port < 0 || port > 65535) usage(2);
      options.port = static_cast<unsigned short>(port);
    } else if (arg == "--threads") {
      const long threads = value();
      if (threads < 1 || threads > 1024) usage(2);
      options.threads = static_cast<int>(threads);
    } else if (arg == "--deflate") {
      options.deflate = true;
    } else if (arg == "-h" || arg == "--help") {
      usage(0);
    } else {
      usage(2);
    }
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  net::io_context ioc{options.threads};
  Rooms rooms(options.threads > 1);

  tcp::acceptor acceptor(ioc);
  beast::error_code ec;
  const tcp::endpoint endpoint(net::ip::address_v4::any(), options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "beast_server: port %u: %s\n", options.port, ec.message().c_str());
    return 1;
  }
  const unsigned port = acceptor.local_endpoint().port();
  std::make_shared<Listener>(ioc, std::move(acceptor), rooms, options)->accept();

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](beast::error_code, int) { ioc.stop(); });

  std::printf("listening on %u\n", port);
  std::fflush(stdout);

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(options.threads - 1));
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& thread : threads) thread.join();
  return 0;
}
