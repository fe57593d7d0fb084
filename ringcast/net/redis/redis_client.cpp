#include <ringcast/net/redis/redis_client.hpp>

#include <cstring>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>

namespace ringcast {

RedisClient::RedisClient(Loop& loop, RedisClientOptions options, Events events)
    : loop_(loop), options_(std::move(options)), events_(std::move(events)) {}

RedisClient::~RedisClient() {
  // stop() ran on the shard's thread (the owner's duty); nothing here may touch the loop or the
  // timer wheel, which may be gone.
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
  if (conn_) {
    Connection* c = conn_;
    loop_.close(*c);  // on_close follows at once
  }
}

size_t RedisClient::buffered() const noexcept { return conn_ ? loop_.buffered_amount(*conn_) : 0; }

void RedisClient::connect() {
  if (stopped_ || conn_) return;
  conn_ = loop_.connect(options_.address, *this, this);
  if (!conn_) {
    log::debug("{} {}: socket: {}", options_.name, options_.address.to_string(), std::strerror(errno));
    schedule_retry();
  }
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

void RedisClient::on_open(Connection&) {
  up_ = true;
  if (ever_up_) {
    ++reconnects_;
    log::info("{} {}: connected again after {} ms ({} attempts)", options_.name, options_.address.to_string(),
              loop_.shard().now_ms() - down_since_ms_, attempts_ + 1);
  } else {
    log::debug("{} {}: connected", options_.name, options_.address.to_string());
  }
  ever_up_ = true;
  attempts_ = 0;
  if (events_.on_connected) events_.on_connected();
}

size_t RedisClient::on_data(Connection& c, std::span<uint8_t> data) {
  size_t used = 0;
  while (conn_ == &c && used < data.size()) {
    const RespParser::Status st = parser_.parse(data.subspan(used));
    if (st == RespParser::Status::incomplete) break;
    if (st == RespParser::Status::malformed) {
      log::error("{} {}: reply is not RESP2; reconnecting", options_.name, options_.address.to_string());
      loop_.abort(c, -EPROTO);
      return data.size();
    }
    used += parser_.consumed();
    if (events_.on_reply) events_.on_reply(parser_, parser_.root());
  }
  return conn_ == &c ? used : data.size();
}

void RedisClient::on_shutdown(Connection&) { stop(); }

void RedisClient::on_close(Connection& c, int error) {
  if (conn_ != &c) return;
  const bool was_up = up_;
  conn_ = nullptr;
  up_ = false;
  if (was_up) {
    down_since_ms_ = loop_.shard().now_ms();
    if (!stopped_) {
      log::warn("{} {}: connection lost ({}); reconnecting", options_.name, options_.address.to_string(),
                error < 0 ? std::strerror(-error) : "closed by the server");
    }
    if (events_.on_disconnected) events_.on_disconnected(error);
  } else if (!stopped_ && attempts_ == 0 && !ever_up_) {
    log::warn("{} {}: cannot connect ({}); retrying", options_.name, options_.address.to_string(),
              error < 0 ? std::strerror(-error) : "closed");
  }
  schedule_retry();
}

}  // namespace ringcast
