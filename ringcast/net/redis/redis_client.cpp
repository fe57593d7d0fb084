#include <ringcast/net/redis/redis_client.hpp>

#include <fmt/format.h>

#include <cstring>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/detail/resp_writer.hpp>
#include <ringcast/net/redis/redis_endpoint.hpp>

namespace ringcast {
namespace {

std::string reason(int error) { return error < 0 ? std::strerror(-error) : "closed by the server"; }

}  // namespace

RedisClientOptions RedisClientOptions::from(const RedisEndpoint& endpoint, const char* name) {
  RedisClientOptions o;
  o.address = endpoint.address;
  o.user = endpoint.user;
  o.password = endpoint.password;
  o.tls = endpoint.tls;
  o.server_name = endpoint.host;
  o.name = name;
  return o;
}

RedisClient::RedisClient(Loop& loop, RedisClientOptions options, Events events)
    : loop_(loop), options_(std::move(options)), events_(std::move(events)), parser_(options_.limits) {}

RedisClient::~RedisClient() {
  // stop() ran on the shard's thread (the owner's duty); nothing here may touch the loop or the
  // timer wheel, which may be gone.
}

std::string RedisClient::describe() const {
  return fmt::format("{} {}{}", options_.name, options_.tls ? "tls " : "", options_.address.to_string());
}

void RedisClient::start() {
  if (!stopped_) return;
  stopped_ = false;
  down_since_ms_ = loop_.shard().now_ms();
  connect();
}

void RedisClient::stop() {
  stopped_ = true;
  loop_.timers().cancel(retry_);
  loop_.timers().cancel(connect_timer_);
  if (conn_) {
    Connection* c = conn_;
    loop_.close(*c);  // on_close follows at once
  }
}

void RedisClient::abort(int error) {
  if (conn_) loop_.abort(*conn_, error);  // on_close follows at once, then a retry is scheduled
}

size_t RedisClient::buffered() const noexcept { return conn_ ? loop_.buffered_amount(*conn_) : 0; }

void RedisClient::connect() {
  if (stopped_ || conn_) return;
  conn_ = loop_.connect(options_.address, *this, this, nullptr, options_.tls.get(), options_.server_name);
  if (!conn_) {
    log::debug("{}: socket: {}", describe(), std::strerror(errno));
    if (events_.on_connect_failed) events_.on_connect_failed(-errno);
    schedule_retry();
    return;
  }
  loop_.timers().schedule_in(connect_timer_, static_cast<uint64_t>(options_.connect_timeout.count()));
}

void RedisClient::on_connect_timeout(Timer& t) {
  RedisClient* self = static_cast<ClientTimer&>(t).self;
  if (self->conn_ && !self->up_) self->loop_.abort(*self->conn_, -ETIMEDOUT);
}

void RedisClient::schedule_retry() {
  if (stopped_) return;
  const unsigned shift = attempts_ < 16 ? attempts_ : 16;
  uint64_t delay = static_cast<uint64_t>(options_.min_backoff.count()) << shift;
  const uint64_t cap = static_cast<uint64_t>(options_.max_backoff.count());
  if (delay > cap) delay = cap;
  // ±25% jitter (xorshift), so that many nodes do not knock on a restarted Redis at the same tick.
  jitter_ ^= jitter_ << 13;
  jitter_ ^= jitter_ >> 17;
  jitter_ ^= jitter_ << 5;
  if (delay >= 4) delay = delay - delay / 4 + jitter_ % (delay / 2 + 1);
  ++attempts_;
  loop_.timers().schedule_in(retry_, delay ? delay : 1);
}

void RedisClient::on_open(Connection& c) {
  parser_.reset();
  if (options_.user.empty() && options_.password.empty()) {
    became_up();
    return;
  }
  // AUTH first; nothing else is written until its reply has let us in.
  const bool with_user = !options_.user.empty();
  const size_t n = RespWriter::array_size(with_user ? 3 : 2) + RespWriter::bulk_size(4) +
                   (with_user ? RespWriter::bulk_size(options_.user.size()) : 0) +
                   RespWriter::bulk_size(options_.password.size());
  RespWriter w(loop_.write_reserve(c, n).data());
  w.array(with_user ? 3 : 2);
  w.bulk("AUTH");
  if (with_user) w.bulk(options_.user);
  w.bulk(options_.password);
  loop_.write_commit(c, w.written());
  authenticating_ = true;
}

bool RedisClient::auth_reply(const RespValue& reply) {
  authenticating_ = false;
  if (reply.type == RespType::simple && reply.text == "OK") return true;
  ++auth_failures_;
  // Redis' reason ("WRONGPASS invalid username-password pair…") never repeats the password.
  log::error("{}: Redis refused AUTH as user '{}': {}; retrying", describe(),
             options_.user.empty() ? "default" : options_.user,
             reply.type == RespType::error ? reply.text : std::string_view("an unexpected reply"));
  return false;
}

void RedisClient::became_up() {
  loop_.timers().cancel(connect_timer_);
  up_ = true;
  if (ever_up_) {
    ++reconnects_;
    log::info("{}: connected again after {} ms ({} attempts)", describe(), loop_.shard().now_ms() - down_since_ms_,
              attempts_ + 1);
  } else {
    log::debug("{}: connected", describe());
  }
  ever_up_ = true;
  reported_down_ = false;
  attempts_ = 0;
  if (events_.on_connected) events_.on_connected();
}

size_t RedisClient::on_data(Connection& c, std::span<uint8_t> data) {
  size_t used = 0;
  while (conn_ == &c && used < data.size()) {
    const RespParser::Status st = parser_.parse(data.subspan(used));
    if (st == RespParser::Status::incomplete) break;
    if (st == RespParser::Status::malformed) {
      ++protocol_errors_;
      log::error("{}: reply is {}; dropping the connection", describe(), RespParser::describe(parser_.error()));
      loop_.abort(c, -EPROTO);
      return data.size();
    }
    used += parser_.consumed();
    if (authenticating_) {
      if (!auth_reply(parser_.root())) {
        loop_.abort(c, -EACCES);
        return data.size();
      }
      became_up();
      continue;
    }
    if (events_.on_reply) events_.on_reply(parser_, parser_.root());
  }
  return conn_ == &c ? used : data.size();
}

void RedisClient::on_shutdown(Connection&) { stop(); }

void RedisClient::on_close(Connection& c, int error) {
  if (conn_ != &c) return;
  const bool was_up = up_;
  const std::string tls_error = was_up ? std::string() : loop_.tls_error(c);
  conn_ = nullptr;
  up_ = false;
  authenticating_ = false;
  parser_.reset();
  loop_.timers().cancel(connect_timer_);
  if (was_up) {
    down_since_ms_ = loop_.shard().now_ms();
    reported_down_ = true;  // "connection lost" is the news of this outage
    if (!stopped_) log::warn("{}: connection lost ({}); reconnecting", describe(), reason(error));
    if (events_.on_disconnected) events_.on_disconnected(error);
  } else {
    if (!stopped_ && !reported_down_ && error != -EACCES) {
      reported_down_ = true;  // once per outage: a dead server is not news every backoff
      log::warn("{}: cannot connect ({}{}{}); retrying", describe(), reason(error), tls_error.empty() ? "" : ": ",
                tls_error);
    }
    if (!stopped_ && events_.on_connect_failed) events_.on_connect_failed(error);
  }
  schedule_retry();
}

}  // namespace ringcast
