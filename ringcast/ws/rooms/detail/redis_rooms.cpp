#include <ringcast/ws/rooms/detail/redis_rooms.hpp>

#include <fmt/format.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/detail/resp_writer.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>
#include <ringcast/ws/rooms/detail/durable_rooms.hpp>
#include <ringcast/ws/rooms/detail/redis_scripts.hpp>
#include <ringcast/ws/rooms/detail/room_envelope.hpp>
#include <ringcast/ws/rooms/detail/room_partition.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {
namespace {

struct Script {
  std::string_view source;
  std::string sha;  // hex SHA-1: what EVALSHA names it by
  explicit Script(std::string_view s) : source(s) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
    for (unsigned char b : digest) sha += fmt::format("{:02x}", b);
  }
};

const Script& publish_script() {
  static const Script s(redis_scripts::kPublish);
  return s;
}
const Script& history_script() {
  static const Script s(redis_scripts::kHistory);
  return s;
}
const Script& presence_script() {
  static const Script s(redis_scripts::kPresence);
  return s;
}

std::string_view presence_op(DurableLog::PresenceOp op) {
  switch (op) {
    case DurableLog::PresenceOp::join: return "join";
    case DurableLog::PresenceOp::leave: return "leave";
    case DurableLog::PresenceOp::refresh: return "refresh";
    case DurableLog::PresenceOp::list: return "list";
  }
  return "list";
}

bool to_u64(std::string_view s, uint64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// SSUBSCRIBE takes many channels at once; this many per command on reconnect.
constexpr size_t kSubscribeBatch = 256;

}  // namespace

// A command being written: its arguments, and room for the numbers among them.
struct RedisRooms::Command {
  std::vector<std::string_view>& args;
  char numbers[10][24];
  int used = 0;

  explicit Command(std::vector<std::string_view>& a) : args(a) { args.clear(); }
  Command& operator<<(std::string_view s) {
    args.push_back(s);
    return *this;
  }
  Command& operator<<(uint64_t v) {
    char* p = numbers[used++];
    args.emplace_back(p, static_cast<size_t>(std::to_chars(p, p + 24, v).ptr - p));
    return *this;
  }
  void write(Loop& loop, Connection& c) const {
    size_t n = RespWriter::array_size(args.size());
    for (std::string_view a : args) n += RespWriter::bulk_size(a.size());
    RespWriter w(loop.write_reserve(c, n).data());
    w.array(args.size());
    for (std::string_view a : args) w.bulk(a);
    loop.write_commit(c, w.written());
  }
};

RedisRooms::RedisRooms(const BrokerOptions& options, Rooms& rooms, DurableRooms& durable, Loop& loop,
                       unsigned partitions)
    : options_(options),
      rooms_(rooms),
      durable_(durable),
      partitions_(partitions),
      tag_prefix_(options.prefix + "{"),
      commands_(loop, client_options("rooms: commands"),
                {.on_connected = [this] { stats_.connected.add(); count_client_events(); load_scripts(); },
                 .on_reply = [this](const RespParser& p, const RespValue& v) { on_command_reply(p, v); },
                 .on_disconnected = [this](int) { stats_.connected.sub(); count_client_events(); on_commands_lost(); },
                 .on_connect_failed = [this](int) { count_client_events(); }}),
      subscriber_(loop, client_options("rooms: channels"),
                  {.on_connected = [this] { stats_.connected.add(); count_client_events(); subscribe_all(); },
                   .on_reply = [this](const RespParser& p, const RespValue& v) { on_channel_reply(p, v); },
                   .on_disconnected =
                       [this](int) {
                         stats_.connected.sub();
                         count_client_events();
                         for (Partition& part : partitions_) part.ready = false;
                       },
                   .on_connect_failed = [this](int) { count_client_events(); }}) {
  for (unsigned p = 0; p < partitions; ++p) partitions_[p].channel = fmt::format("{}{{r{}}}c", options.prefix, p);
}

RedisRooms::~RedisRooms() = default;

void RedisRooms::start() {
  commands_.loop().shard().on_stop([this] { stop(); });
  commands_.start();
  subscriber_.start();
}

void RedisRooms::stop() {
  subscriber_.stop();
  commands_.stop();
}

RedisClientOptions RedisRooms::client_options(const char* name) const {
  RedisClientOptions o = RedisClientOptions::from(options_.redis, name);
  o.min_backoff = options_.min_backoff;
  o.max_backoff = options_.max_backoff;
  return o;
}

void RedisRooms::count_client_events() {
  stats_.reconnects.set(subscriber_.reconnects() + commands_.reconnects());
  stats_.protocol_errors.set(subscriber_.protocol_errors() + commands_.protocol_errors());
  stats_.auth_failures.set(subscriber_.auth_failures() + commands_.auth_failures());
}

unsigned RedisRooms::partition_of(std::string_view room) const noexcept {
  return room_partition(room, static_cast<unsigned>(partitions_.size()));
}

std::string RedisRooms::key(char kind, std::string_view room) const {
  return fmt::format("{}r{}}}{}:{}", tag_prefix_, partition_of(room), kind, room);
}

// ---------------------------------------------------------------------------------------------
// Channels

void RedisRooms::watch(std::string_view room) {
  Partition& p = partitions_[partition_of(room)];
  if (p.watchers++ == 0) subscribe(partition_of(room), true);
}

void RedisRooms::unwatch(std::string_view room) {
  const unsigned index = partition_of(room);
  Partition& p = partitions_[index];
  if (p.watchers == 0 || --p.watchers > 0) return;
  subscribe(index, false);
}

void RedisRooms::subscribe(unsigned partition, bool on) {
  Partition& p = partitions_[partition];
  if (on) {
    stats_.partitions.add();
  } else {
    stats_.partitions.sub();
    p.ready = false;
  }
  Connection* c = subscriber_.connection();
  if (!c) return;  // subscribed (or not) when it comes back
  Command cmd(users_);
  cmd << (on ? "SSUBSCRIBE" : "SUNSUBSCRIBE") << p.channel;
  cmd.write(subscriber_.loop(), *c);
}

void RedisRooms::subscribe_all() {
  Connection* c = subscriber_.connection();
  if (!c) return;
  Command cmd(users_);
  for (Partition& p : partitions_) {
    if (p.watchers == 0) continue;
    if (cmd.args.empty()) cmd << "SSUBSCRIBE";
    cmd << p.channel;
    if (cmd.args.size() > kSubscribeBatch) {
      cmd.write(subscriber_.loop(), *c);
      cmd.args.clear();
    }
  }
  if (!cmd.args.empty()) cmd.write(subscriber_.loop(), *c);
}

// A reply on the subscribed connection: ["smessage", channel, payload], or the confirmation of a
// (un)subscription: ["ssubscribe", channel, count] makes the partition ready.
void RedisRooms::on_channel_reply(const RespParser& p, const RespValue& reply) {
  if (reply.type == RespType::error) {
    stats_.errors.add();
    log::warn("rooms: Redis says {}", reply.text);
    return;
  }
  if (reply.type != RespType::array || reply.integer != 3) return;
  const RespValue& kind = p.child(reply, 0);
  const RespValue& channel = p.child(reply, 1);
  if (kind.is_bulk("ssubscribe")) {
    for (unsigned i = 0; i < partitions_.size(); ++i) {
      Partition& part = partitions_[i];
      if (part.channel == channel.text && part.watchers > 0 && !part.ready) {
        part.ready = true;
        durable_.on_ready(i);
      }
    }
    return;
  }
  if (kind.is_bulk("sunsubscribe")) {
    // Redis drops a subscription itself when the channel's slot moves; one still wanted is renewed.
    for (unsigned i = 0; i < partitions_.size(); ++i) {
      Partition& part = partitions_[i];
      if (part.channel == channel.text && part.watchers > 0 && part.ready) {
        part.ready = false;
        if (Connection* c = subscriber_.connection()) {
          Command cmd(users_);
          cmd << "SSUBSCRIBE" << part.channel;
          cmd.write(subscriber_.loop(), *c);
        }
      }
    }
    return;
  }
  if (!kind.is_bulk("smessage")) return;
  const RespValue& payload = p.child(reply, 2);
  const auto e = payload.type == RespType::bulk ? RoomEnvelope::parse(payload.text) : std::nullopt;
  // RFC 6455 §8.1: a text message is UTF-8. Anything may publish on Redis; members get valid text only.
  if (!e || ((e->kind != RoomEnvelope::Kind::presence && e->op == OpCode::text) && !utf8_valid(e->payload)) ||
      channel.text != partitions_[partition_of(e->room)].channel) {
    stats_.malformed.add();
    return;
  }
  switch (e->kind) {
    case RoomEnvelope::Kind::durable:
      stats_.durable_received.add();
      durable_.on_message(e->room, {e->epoch, e->offset}, e->op, e->payload);
      break;
    case RoomEnvelope::Kind::presence:
      stats_.presence_events.add();
      durable_.on_presence(e->room, e->payload, e->joined);
      break;
    case RoomEnvelope::Kind::live:
      if (e->node == options_.node_id) {
        stats_.echoes.add();
      } else {
        stats_.live_received.add();
        rooms_.deliver_from_broker(e->room, e->payload, e->op);
      }
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

bool RedisRooms::can_send() const noexcept {
  return commands_.connection() != nullptr && commands_.buffered() <= options_.max_pending;
}

void RedisRooms::load_scripts() {
  Connection* c = commands_.connection();
  if (!c) return;
  for (const Script* s : {&publish_script(), &history_script(), &presence_script()}) {
    Command cmd(users_);
    cmd << "SCRIPT" << "LOAD" << s->source;
    cmd.write(commands_.loop(), *c);
    pending_.push_back({Expect::nothing, 0});
  }
}

void RedisRooms::publish_live(std::string_view room, std::string_view message, OpCode op) {
  if (!can_send()) {
    stats_.dropped.add();
    return;
  }
  scratch_.clear();
  RoomEnvelope::write_live(scratch_, options_.node_id, op, room, message);
  Command cmd(users_);
  cmd << "SPUBLISH" << partitions_[partition_of(room)].channel << scratch_;
  cmd.write(commands_.loop(), *commands_.connection());
  pending_.push_back({Expect::nothing, 0});
  stats_.live_published.add();
}

void RedisRooms::append(std::string_view room, std::string_view message, OpCode op, Position known,
                        uint64_t new_epoch) {
  if (!can_send()) {
    durable_.on_appended(false);
    return;
  }
  const RoomOptions& options = rooms_.network().options(room);
  const std::string meta = key('m', room), log = key('l', room);
  Command cmd(users_);
  cmd << "EVALSHA" << publish_script().sha << uint64_t{2} << meta << log << partitions_[partition_of(room)].channel
      << room << uint64_t{static_cast<uint8_t>(op)} << message << uint64_t{options.history_size}
      << uint64_t(options.history_ttl.count()) << new_epoch;
  if (known.epoch == 0) {
    cmd << "";
  } else {
    cmd << known.epoch;
  }
  cmd << known.offset;
  cmd.write(commands_.loop(), *commands_.connection());
  pending_.push_back({Expect::append, 0});
}

void RedisRooms::read(std::string_view room, std::optional<uint64_t> after, uint32_t count, uint64_t new_epoch,
                      uint64_t request) {
  if (!can_send()) {
    durable_.on_read(request, false, {}, {});
    return;
  }
  const RoomOptions& options = rooms_.network().options(room);
  const std::string meta = key('m', room), log = key('l', room);
  Command cmd(users_);
  cmd << "EVALSHA" << history_script().sha << uint64_t{2} << meta << log;
  if (after) {
    cmd << *after;
  } else {
    cmd << "-1";
  }
  cmd << uint64_t{count} << new_epoch << uint64_t(options.history_ttl.count());
  cmd.write(commands_.loop(), *commands_.connection());
  pending_.push_back({Expect::read, request});
}

void RedisRooms::presence(PresenceOp op, std::string_view room, std::span<const std::string> entries, uint64_t request) {
  const Expect expect = request ? Expect::presence : Expect::nothing;
  if (!can_send()) {
    if (request) durable_.on_presence_reply(request, false, false, {});
    return;
  }
  const std::string z = key('z', room), h = key('h', room);
  Command cmd(users_);
  cmd << "EVALSHA" << presence_script().sha << uint64_t{2} << z << h << presence_op(op)
      << partitions_[partition_of(room)].channel << room
      << uint64_t(std::chrono::milliseconds(DurableRooms::kPresenceTtl).count())
      << uint64_t(std::chrono::duration_cast<std::chrono::seconds>(DurableRooms::kPresenceTtl).count() * 6);
  for (const std::string& e : entries) {
    cmd << std::string_view(e) << std::string_view(e).substr(e.find(':') + 1);  // entry, user
  }
  cmd.write(commands_.loop(), *commands_.connection());
  pending_.push_back({expect, request});
}

void RedisRooms::fail(Expect expect, uint64_t request) {
  switch (expect) {
    case Expect::nothing: break;
    case Expect::append: durable_.on_appended(false); break;
    case Expect::read: durable_.on_read(request, false, {}, {}); break;
    case Expect::presence: durable_.on_presence_reply(request, false, false, {}); break;
  }
}

void RedisRooms::on_commands_lost() {
  std::deque<Pending> lost = std::move(pending_);
  pending_.clear();
  for (const Pending& p : lost) fail(p.expect, p.request);
}

void RedisRooms::on_command_reply(const RespParser& p, const RespValue& reply) {
  if (pending_.empty()) return;  // not ours to answer (cannot happen: one reply per command)
  const Pending next = pending_.front();
  pending_.pop_front();
  if (reply.type == RespType::error) {
    stats_.errors.add();
    log::warn("rooms: Redis says {}", reply.text);
    // A Redis that restarted (or flushed its scripts) under this connection: load them again.
    if (reply.text.starts_with("NOSCRIPT")) load_scripts();
    fail(next.expect, next.request);
    return;
  }
  switch (next.expect) {
    case Expect::nothing:
      break;
    case Expect::append:
      durable_.on_appended(true);
      break;
    case Expect::presence: {
      // {'1' when the join was announced, users...}
      users_.clear();
      bool announced = false;
      if (reply.type == RespType::array && reply.integer > 0) {
        announced = p.child(reply, 0).is_bulk("1");
        for (int64_t i = 1; i < reply.integer; ++i) {
          const RespValue& u = p.child(reply, static_cast<size_t>(i));
          if (u.type == RespType::bulk) users_.push_back(u.text);
        }
      }
      durable_.on_presence_reply(next.request, true, announced, users_);
      break;
    }
    case Expect::read: {
      // {epoch, last offset, [[id, [o, opcode, d, message]], ...]}
      uint64_t epoch = 0, top = 0;
      if (reply.type != RespType::array || reply.integer != 3 ||
          (!p.child(reply, 0).text.empty() && !to_u64(p.child(reply, 0).text, epoch)) ||
          !to_u64(p.child(reply, 1).text, top) || p.child(reply, 2).type != RespType::array) {
        stats_.malformed.add();
        durable_.on_read(next.request, false, {}, {});
        break;
      }
      const RespValue& list = p.child(reply, 2);
      entries_.clear();
      for (int64_t i = 0; i < list.integer; ++i) {
        const RespValue& item = p.child(list, static_cast<size_t>(i));
        if (item.type != RespType::array || item.integer != 2) continue;
        const std::string_view id = p.child(item, 0).text;
        const RespValue& fields = p.child(item, 1);
        uint64_t offset = 0;
        if (!to_u64(id.substr(0, id.find('-')), offset) || fields.type != RespType::array || fields.integer != 4) continue;
        uint64_t op = 0;
        if (!to_u64(p.child(fields, 1).text, op) || (op != 1 && op != 2)) continue;
        entries_.push_back({offset, static_cast<OpCode>(op), p.child(fields, 3).text});
      }
      // Newest first when the latest were asked for: members get them oldest first.
      std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.offset < b.offset; });
      durable_.on_read(next.request, true, {epoch, top}, entries_);
      break;
    }
  }
}

}  // namespace ringcast
