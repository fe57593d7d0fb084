#pragma once
// Real Redis for tests: RedisServer, one redis-server on a free loopback port, with RedisOptions for
// a password (requirepass), an ACL user and TLS (the test certificate of tls_test_support.hpp, or
// another), and BlockingRedis, a connection that sends any command to it. Fault operations: kill -9
// and start again on the same port, SIGSTOP/SIGCONT.
//
// Processes get SIGKILL when the test process dies (PR_SET_PDEATHSIG), and when their fixture goes,
// whatever the test's outcome; logs live in a temporary directory removed at the end. Tests call
// require_redis() first: without redis-server they skip, or fail when CI=true.
//
// Threads: a fixture is driven by the test's thread; BlockingRedis connections are its own.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/net/redis/detail/resp_parser.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/test_process.hpp"
#include "tests/support/tls_test_support.hpp"

namespace ringcast::test {

inline constexpr const char* kRedisServer = "/usr/bin/redis-server";
inline constexpr const char* kRedisCli = "/usr/bin/redis-cli";

// True when redis-server and redis-cli are installed. Otherwise the test is skipped with a message,
// or fails when CI=true (a CI machine must have them: scripts/setup installs redis-server).
inline bool require_redis() {
  if (::access(kRedisServer, X_OK) == 0 && ::access(kRedisCli, X_OK) == 0) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string_view(ci) == "true") {
    FAIL_CHECK(kRedisServer << " or " << kRedisCli << " is missing (scripts/setup installs redis-server)");
  } else {
    MESSAGE("skipped: " << kRedisServer << " is not installed (scripts/setup installs redis-server)");
  }
  return false;
}

// A loopback port nobody listens on right now.
inline uint16_t free_port() {
  uint16_t port = 0;
  const int fd = listen_loopback(port, 1);
  if (fd >= 0) ::close(fd);
  return port;
}

// One reply, copied out of the parser.
struct RedisReply {
  RespType type = RespType::null;
  std::string text;
  int64_t integer = 0;
  std::vector<RedisReply> elements;
  bool received = false;  // false: no reply (connection failed or timed out)

  bool is_error() const noexcept { return type == RespType::error; }
  static RedisReply copy(const RespParser& p, const RespValue& v) {
    RedisReply r{v.type, std::string(v.text), v.integer, {}, true};
    if (v.type == RespType::array) {
      for (int64_t i = 0; i < v.integer; ++i) r.elements.push_back(copy(p, p.child(v, static_cast<size_t>(i))));
    }
    return r;
  }
};

// How a test Redis is set up and logged in to.
struct RedisOptions {
  std::string password;       // requirepass (and masterauth in a cluster)
  std::string acl_user;       // an ACL user with every permission, logging in with acl_password
  std::string acl_password;
  bool tls = false;           // TLS only (the plain port is off), with the test certificate
  std::string cert_file;      // TLS: empty for the test certificate
  std::string key_file;
};

// A blocking RESP connection to a test Redis, plain or TLS (trusting the server's own certificate,
// whatever name it carries), logged in as the options say (the ACL user when there is one).
class BlockingRedis {
 public:
  BlockingRedis(uint16_t port, const RedisOptions& options, int timeout_ms = 5000) {
    fd_ = connect_blocking(port);
    if (fd_ < 0) return;
    set_recv_timeout(fd_, timeout_ms);
    if (options.tls) {
      ctx_ = SSL_CTX_new(TLS_client_method());
      const std::string& ca = options.cert_file.empty() ? test_certificate().cert : options.cert_file;
      SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, fd_);
      if (SSL_connect(ssl_) != 1) {
        close();
        return;
      }
    }
    if (!options.acl_user.empty()) {
      ok_ = command({"AUTH", options.acl_user, options.acl_password}).text == "OK";
    } else if (!options.password.empty()) {
      ok_ = command({"AUTH", options.password}).text == "OK";
    } else {
      ok_ = true;
    }
  }
  ~BlockingRedis() { close(); }
  BlockingRedis(const BlockingRedis&) = delete;
  BlockingRedis& operator=(const BlockingRedis&) = delete;

  // Connected (and logged in).
  bool ok() const noexcept { return ok_; }

  bool send(const std::string& bytes) {
    if (fd_ < 0) return false;
    if (ssl_) {
      size_t done = 0;
      return SSL_write_ex(ssl_, bytes.data(), bytes.size(), &done) == 1 && done == bytes.size();
    }
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // The next reply (received == false on a timeout or a closed connection).
  RedisReply read() {
    while (fd_ >= 0) {
      if (!in_.empty() && parser_.parse(in_) == RespParser::Status::complete) {
        RedisReply r = RedisReply::copy(parser_, parser_.root());
        in_.erase(0, parser_.consumed());
        return r;
      }
      char buf[16384];
      size_t got = 0;
      if (ssl_) {
        if (SSL_read_ex(ssl_, buf, sizeof buf, &got) != 1) break;
      } else {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) break;
        got = static_cast<size_t>(n);
      }
      in_.append(buf, got);
    }
    return {};
  }
  template <typename Args>
  RedisReply command_of(const Args& args) {
    return send(resp_command_of(args)) ? read() : RedisReply{};
  }
  RedisReply command(std::initializer_list<std::string_view> args) { return command_of(args); }

 private:
  void close() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
    ssl_ = nullptr;
    ctx_ = nullptr;
    fd_ = -1;
  }

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
  std::string in_;
  RespParser parser_;
};

namespace detail {

inline std::string make_temp_dir(const char* what) {
  std::string tmpl = fmt::format("/tmp/ringcast-{}-XXXXXX", what);
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  return tmpl;
}

}  // namespace detail

// One redis-server (no persistence) on a free loopback port, killed with the test process.
class RedisServer {
 public:
  // `extra`: more redis-server arguments (a cluster node's, say). `dir`: where its log (and cluster
  // state) go; empty: a temporary directory of its own.
  explicit RedisServer(RedisOptions options = {}, std::vector<std::string> extra = {}, std::string dir = {})
      : options_(std::move(options)), extra_(std::move(extra)), port_(free_port()) {
    if (dir.empty()) {
      dir_ = detail::make_temp_dir("redis");
      own_dir_ = true;
    } else {
      dir_ = std::move(dir);
    }
    if (options_.tls && options_.cert_file.empty()) {
      options_.cert_file = test_certificate().cert;
      options_.key_file = test_certificate().key;
    }
    start();
  }
  ~RedisServer() {
    kill();
    if (own_dir_) std::filesystem::remove_all(dir_);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  const RedisOptions& options() const noexcept { return options_; }
  const std::string& dir() const noexcept { return dir_; }
  bool running() const noexcept { return process_ != nullptr; }
  // redis[s]://[credentials@]127.0.0.1:port[/prefix], logged in as the options say.
  std::string url(std::string_view prefix = "") const {
    std::string credentials;
    if (!options_.acl_user.empty()) {
      credentials = fmt::format("{}:{}@", options_.acl_user, options_.acl_password);
    } else if (!options_.password.empty()) {
      credentials = fmt::format(":{}@", options_.password);
    }
    const std::string base = fmt::format("{}://{}127.0.0.1:{}", options_.tls ? "rediss" : "redis", credentials, port_);
    const std::string query = options_.tls ? "?ca_file=" + options_.cert_file : "";
    return prefix.empty() ? base + query : fmt::format("{}/{}{}", base, prefix, query);
  }

  // Starts it (again, on the same port: empty unless it is a cluster node, which keeps its
  // nodes.conf) and waits until it answers PING.
  void start() {
    std::vector<std::string> argv = {kRedisServer, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--daemonize", "no", "--dir", dir_, "--logfile", log_path()};
    if (options_.tls) {
      argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                               options_.cert_file, "--tls-key-file", options_.key_file, "--tls-ca-cert-file",
                               options_.cert_file, "--tls-auth-clients", "no"});
    } else {
      argv.insert(argv.end(), {"--port", std::to_string(port_)});
    }
    if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
    if (!options_.acl_user.empty()) {
      argv.insert(argv.end(), {"--user", options_.acl_user, "on", ">" + options_.acl_password, "~*", "&*", "+@all"});
    }
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<ServerProcess>(argv, ProcessOptions{.wait_for_port = false, .death_signal = SIGKILL});
    const bool up = eventually([&] { return command({"PING"}).text == "PONG"; }, std::chrono::seconds(10));
    if (!up) FAIL("redis-server on port " << port_ << " did not come up; its log:\n" << log_tail());
  }
  // kill -9 (harmless when it is not running).
  void kill() {
    if (!process_) return;
    process_->stop(SIGKILL);
    process_.reset();
  }
  void pause() { if (process_) process_->signal(SIGSTOP); }
  void resume() { if (process_) process_->signal(SIGCONT); }

  // One command on a new connection; received == false when it is unreachable.
  RedisReply command(std::initializer_list<std::string_view> args, int timeout_ms = 5000) const {
    BlockingRedis c(port_, options_, timeout_ms);
    return c.ok() ? c.command(args) : RedisReply{};
  }
  template <typename Args>
  RedisReply command_of(const Args& args, int timeout_ms = 5000) const {
    BlockingRedis c(port_, options_, timeout_ms);
    return c.ok() ? c.command_of(args) : RedisReply{};
  }
  // Subscribers of a channel, as Redis counts them (one per connection that subscribed).
  int64_t subscribers(std::string_view channel) const {
    const RedisReply r = command({"PUBSUB", "NUMSUB", channel});
    return r.elements.size() == 2 ? r.elements[1].integer : -1;
  }
  // The line of `INFO section` that starts with `key:`, without the key ("" when absent).
  std::string info(std::string_view section, std::string_view key) const {
    const RedisReply r = command({"INFO", section});
    const std::string needle = std::string(key) + ":";
    std::istringstream in(r.text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(needle, 0) == 0) {
        line = line.substr(needle.size());
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
    }
    return {};
  }
  // The last lines of its log, for a failure message.
  std::string log_tail(size_t lines = 30) const {
    std::ifstream in(log_path());
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    std::string out;
    for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
    return out;
  }
  // The redis-cli command line that reaches it (for a test's own use of redis-cli).
  std::string cli() const {
    std::string c = fmt::format("{} -h 127.0.0.1 -p {} --no-auth-warning", kRedisCli, port_);
    if (options_.tls) c += fmt::format(" --tls --cacert {}", options_.cert_file);
    if (!options_.acl_user.empty()) {
      c += fmt::format(" --user {} --pass {}", options_.acl_user, options_.acl_password);
    } else if (!options_.password.empty()) {
      c += fmt::format(" -a {}", options_.password);
    }
    return c;
  }

 private:
  std::string log_path() const { return fmt::format("{}/redis-{}.log", dir_, port_); }

  RedisOptions options_;
  std::vector<std::string> extra_;
  uint16_t port_;
  std::string dir_;
  bool own_dir_ = false;
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace ringcast::test
