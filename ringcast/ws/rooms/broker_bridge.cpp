#include <ringcast/ws/rooms/broker_bridge.hpp>

#include <cstring>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/detail/resp_writer.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {
namespace {

void put_u64(uint8_t* p, uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t get_u64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

void release_shared(void* p) noexcept { static_cast<SharedBuffer*>(p)->release(); }

// SUBSCRIBE takes many channels at once; this many per command on reconnect.
constexpr size_t kSubscribeBatch = 512;

}  // namespace

BrokerBridge::BrokerBridge(const BrokerOptions& options, Rooms& rooms, Loop& loop)
    : options_(options),
      rooms_(rooms),
      channel_prefix_(options.prefix + "room:"),
      subscriber_(loop, client_options("broker subscriber"),
                  {.on_connected = [this] { stats_.connected.add(); count_client_events(); subscribe_all(); },
                   .on_reply = [this](const RespParser& p, const RespValue& v) { on_message(p, v); },
                   .on_disconnected = [this](int) { stats_.connected.sub(); count_client_events(); },
                   .on_connect_failed = [this](int) { count_client_events(); }}),
      publisher_(loop, client_options("broker publisher"),
                 {.on_connected = [this] { stats_.connected.add(); count_client_events(); report_outage(); },
                  .on_reply = [this](const RespParser&, const RespValue& v) { on_publish_reply(v); },
                  .on_disconnected = [this](int) { stats_.connected.sub(); count_client_events(); on_publisher_lost(); },
                  .on_connect_failed = [this](int) { count_client_events(); }}) {}

BrokerBridge::~BrokerBridge() = default;

RedisClientOptions BrokerBridge::client_options(const char* name) const {
  RedisClientOptions o = RedisClientOptions::from(options_.redis, name);
  o.min_backoff = options_.min_backoff;
  o.max_backoff = options_.max_backoff;
  return o;
}

void BrokerBridge::start() {
  subscriber_.loop().shard().on_stop([this] { stop(); });
  subscriber_.start();
  publisher_.start();
}

void BrokerBridge::stop() {
  subscriber_.stop();
  publisher_.stop();
}

std::string BrokerBridge::channel(std::string_view room) const {
  std::string c = channel_prefix_;
  c += room;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

void BrokerBridge::write_channel_command(std::string_view command, std::string_view room) {
  Connection* c = subscriber_.connection();
  if (!c) return;  // sent again (or not at all) on reconnect
  Loop& loop = subscriber_.loop();
  const size_t channel_size = channel_prefix_.size() + room.size();
  const size_t n = RespWriter::array_size(2) + RespWriter::bulk_size(command.size()) + RespWriter::bulk_size(channel_size);
  RespWriter w(loop.write_reserve(*c, n).data());
  w.array(2);
  w.bulk(command);
  w.bulk_header(channel_size);
  w.raw(channel_prefix_);
  w.raw(room);
  w.end_bulk();
  loop.write_commit(*c, w.written());
}

void BrokerBridge::room_added(std::string_view room) {
  if (!rooms_subscribed_.emplace(room).second) return;
  stats_.channels.add();
  write_channel_command("SUBSCRIBE", room);
}

void BrokerBridge::room_removed(std::string_view room) {
  auto it = rooms_subscribed_.find(std::string(room));
  if (it == rooms_subscribed_.end()) return;
  rooms_subscribed_.erase(it);
  stats_.channels.sub();
  write_channel_command("UNSUBSCRIBE", room);
}

void BrokerBridge::subscribe_all() {
  Connection* c = subscriber_.connection();
  if (!c || rooms_subscribed_.empty()) return;
  Loop& loop = subscriber_.loop();
  auto it = rooms_subscribed_.begin();
  while (it != rooms_subscribed_.end()) {
    auto batch_end = it;
    size_t count = 0, bytes = 0;
    for (; batch_end != rooms_subscribed_.end() && count < kSubscribeBatch; ++batch_end, ++count) {
      bytes += RespWriter::bulk_size(channel_prefix_.size() + batch_end->size());
    }
    bytes += RespWriter::array_size(count + 1) + RespWriter::bulk_size(9);
    RespWriter w(loop.write_reserve(*c, bytes).data());
    w.array(count + 1);
    w.bulk("SUBSCRIBE");
    for (; it != batch_end; ++it) {
      w.bulk_header(channel_prefix_.size() + it->size());
      w.raw(channel_prefix_);
      w.raw(*it);
      w.end_bulk();
    }
    loop.write_commit(*c, w.written());
  }
  log::debug("broker: subscribed to {} room channels", rooms_subscribed_.size());
}

// A reply on the subscribing connection: ["message", channel, payload], or the confirmation of a
// (un)subscribe, which needs nothing.
void BrokerBridge::on_message(const RespParser& p, const RespValue& reply) {
  if (reply.type == RespType::error) {
    stats_.errors.add();
    log::warn("broker subscriber: Redis says {}", reply.text);
    return;
  }
  if (reply.type != RespType::array || reply.integer != 3 || !p.child(reply, 0).is_bulk("message")) return;
  const RespValue& channel = p.child(reply, 1);
  const RespValue& payload = p.child(reply, 2);
  if (channel.type != RespType::bulk || payload.type != RespType::bulk ||
      channel.text.substr(0, channel_prefix_.size()) != channel_prefix_) {
    stats_.malformed.add();
    return;
  }
  const std::string_view room = channel.text.substr(channel_prefix_.size());
  const std::string_view m = payload.text;
  const auto* head = reinterpret_cast<const uint8_t*>(m.data());
  if (m.size() < kEnvelopeSize || head[0] != kEnvelopeVersion ||
      (head[1] != static_cast<uint8_t>(OpCode::text) && head[1] != static_cast<uint8_t>(OpCode::binary))) {
    stats_.malformed.add();
    return;
  }
  if (get_u64(head + 2) == options_.node_id) {
    stats_.echoes.add();
    return;
  }
  const auto op = static_cast<OpCode>(head[1]);
  const std::string_view message = m.substr(kEnvelopeSize);
  // RFC 6455 §8.1: a text message is UTF-8. Anything may publish on Redis; members get valid text only.
  if (op == OpCode::text && !utf8_valid(message)) {
    stats_.malformed.add();
    return;
  }
  stats_.received.add();
  rooms_.deliver_from_broker(room, message, op);
}

// ---------------------------------------------------------------------------------------------
// Publishing

void BrokerBridge::publish(std::string_view room, std::string_view message, OpCode op, SharedBuffer* owner) {
  Connection* c = publisher_.connection();
  if (!c || publisher_.buffered() > options_.max_pending) {
    stats_.dropped.add();
    return;
  }
  Loop& loop = publisher_.loop();
  const size_t channel_size = channel_prefix_.size() + room.size();
  const size_t payload_size = kEnvelopeSize + message.size();
  const bool by_reference = owner && message.size() > kCopyLimit;
  const size_t head = RespWriter::array_size(3) + RespWriter::bulk_size(7) + RespWriter::bulk_size(channel_size) +
                      RespWriter::bulk_size(payload_size) - payload_size - 2;  // up to the payload
  const size_t n = by_reference ? head + kEnvelopeSize : head + payload_size + 2;
  RespWriter w(loop.write_reserve(*c, n).data());
  w.array(3);
  w.bulk("PUBLISH");
  w.bulk_header(channel_size);
  w.raw(channel_prefix_);
  w.raw(room);
  w.end_bulk();
  w.bulk_header(payload_size);
  uint8_t envelope[kEnvelopeSize];
  envelope[0] = kEnvelopeVersion;
  envelope[1] = static_cast<uint8_t>(op);
  put_u64(envelope + 2, options_.node_id);
  w.raw({reinterpret_cast<const char*>(envelope), kEnvelopeSize});
  if (by_reference) {
    loop.write_commit(*c, w.written());
    owner->retain();
    loop.write_external(*c, reinterpret_cast<const uint8_t*>(message.data()), message.size(), owner, &release_shared);
    loop.write(*c, "\r\n", 2);
  } else {
    w.raw(message);
    w.end_bulk();
    loop.write_commit(*c, w.written());
  }
  ++in_flight_;
  stats_.published.add();
}

void BrokerBridge::on_publish_reply(const RespValue& reply) {
  if (in_flight_ > 0) --in_flight_;
  if (reply.type == RespType::error) {
    stats_.errors.add();
    log::warn("broker publisher: Redis says {}", reply.text);
    return;
  }
  stats_.acknowledged.add();
}

void BrokerBridge::on_publisher_lost() {
  const uint64_t lost = in_flight_;
  stats_.unconfirmed.add(lost);
  in_flight_ = 0;
  if (!outage_) {
    outage_ = true;
    dropped_at_outage_ = stats_.dropped.get();
    unconfirmed_at_outage_ = lost;
  }
}

void BrokerBridge::count_client_events() {
  stats_.reconnects.set(subscriber_.reconnects() + publisher_.reconnects());
  stats_.protocol_errors.set(subscriber_.protocol_errors() + publisher_.protocol_errors());
  stats_.auth_failures.set(subscriber_.auth_failures() + publisher_.auth_failures());
}

void BrokerBridge::report_outage() {
  if (!outage_) return;
  outage_ = false;
  log::warn("broker: publishing again; while Redis was away {} publishes were dropped, and {} written before it "
            "went were never confirmed",
            stats_.dropped.get() - dropped_at_outage_, unconfirmed_at_outage_);
}

}  // namespace ringcast
