#include <ringcast/ws/rooms/detail/redis_rooms.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/redis/redis_script.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>
#include <ringcast/ws/rooms/detail/durable_rooms.hpp>
#include <ringcast/ws/rooms/detail/redis_scripts.hpp>
#include <ringcast/ws/rooms/detail/room_envelope.hpp>
#include <ringcast/ws/rooms/detail/room_partition.hpp>
#include <ringcast/ws/rooms/rooms.hpp>

namespace ringcast {
namespace {

const RedisScript& publish_script() {
  static const RedisScript s{std::string(redis_scripts::kNodeTerm) + std::string(redis_scripts::kPublish)};
  return s;
}
const RedisScript& history_script() {
  static const RedisScript s{std::string(redis_scripts::kNodeTerm) + std::string(redis_scripts::kHistory)};
  return s;
}
const RedisScript& presence_script() {
  static const RedisScript s{std::string(redis_scripts::kPresence)};
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

// A shard's probe channels are `<prefix>probe:<node id>:<shard>{tag}`: no other shard or node hears them.
RedisClusterOptions cluster_options(const BrokerOptions& o, unsigned shard) {
  return {.seed = o.redis, .max_queued = o.max_pending, .min_backoff = o.min_backoff, .max_backoff = o.max_backoff,
          .name = "rooms", .probe_channel = fmt::format("{}probe:{:016x}:{}", o.prefix, o.node_id, shard),
          .probe_interval = o.probe_interval, .probe_timeout = o.probe_timeout};
}

}  // namespace

RedisRooms::RedisRooms(const BrokerOptions& options, Rooms& rooms, DurableRooms& durable, Loop& loop,
                       unsigned partitions)
    : options_(options),
      rooms_(rooms),
      durable_(durable),
      partitions_(partitions),
      redis_(loop, cluster_options(options, loop.shard().id()),
             {.on_message = [this](std::string_view c, std::string_view m) { on_channel_message(c, m); },
              .on_subscribed = [this](std::string_view c) { on_subscription(c); },
              .on_resubscribed = [this](std::string_view c) { on_subscription(c); }}) {
  for (unsigned p = 0; p < partitions; ++p) {
    tags_.push_back(partition_tag(p, partitions));
    partitions_[p].channel = fmt::format("{}{{{}}}c", options.prefix, tags_.back());
    by_channel_.emplace(partitions_[p].channel, p);
  }
}

RedisRooms::~RedisRooms() = default;

void RedisRooms::start() {
  redis_.loop().shard().on_stop([this] { stop(); });
  redis_.start();
}

void RedisRooms::stop() { redis_.stop(); }

unsigned RedisRooms::partition_of(std::string_view room) const noexcept {
  return room_partition(room, static_cast<unsigned>(partitions_.size()));
}

std::string RedisRooms::key(char kind, std::string_view room) const {
  return fmt::format("{}{{{}}}{}:{}", options_.prefix, tags_[partition_of(room)], kind, room);
}

// ---------------------------------------------------------------------------------------------
// Channels

bool RedisRooms::ready(unsigned partition) const noexcept { return redis_.subscribed(partitions_[partition].channel); }

void RedisRooms::watch(std::string_view room) {
  Partition& p = partitions_[partition_of(room)];
  if (p.watchers++ > 0) return;
  stats_.partitions.add();
  redis_.ssubscribe(p.channel);
}

void RedisRooms::unwatch(std::string_view room) {
  Partition& p = partitions_[partition_of(room)];
  if (p.watchers == 0 || --p.watchers > 0) return;
  stats_.partitions.sub();
  redis_.sunsubscribe(p.channel);
}

// Confirmed, first or again after a loss: the durable rooms there read what they may have missed.
void RedisRooms::on_subscription(std::string_view channel) {
  auto it = by_channel_.find(channel);
  if (it != by_channel_.end() && partitions_[it->second].watchers > 0) durable_.on_ready(it->second);
}

void RedisRooms::on_channel_message(std::string_view channel, std::string_view payload) {
  const auto e = RoomEnvelope::parse(payload);
  // RFC 6455 §8.1: a text message is UTF-8. Anything may publish on Redis; members get valid text only.
  if (!e || (e->kind != RoomEnvelope::Kind::presence && e->op == OpCode::text && !utf8_valid(e->payload)) ||
      channel != partitions_[partition_of(e->room)].channel) {
    stats_.malformed.add();
    return;
  }
  switch (e->kind) {
    case RoomEnvelope::Kind::durable:
      stats_.durable_received.add();
      durable_.on_message(e->room, {e->epoch, e->offset}, e->term, e->op, e->payload);
      break;
    case RoomEnvelope::Kind::presence:
      stats_.presence_events.add();
      durable_.on_presence(e->room, e->payload, e->joined);
      break;
    case RoomEnvelope::Kind::live:
      if (e->node == options_.node_id) {
        stats_.echoes.add();
        break;
      }
      {
        // A gap in the other node's numbering is what this node missed (its subscription was down,
        // or that node's publish was delivered before it was back): counted, since it cannot be had.
        uint64_t& last = partitions_[partition_of(e->room)].heard[e->node];
        if (e->seq <= last) {  // had it already: at most once
          stats_.duplicates.add();
          break;
        }
        if (last != 0 && e->seq > last + 1) stats_.live_lost.add(e->seq - last - 1);
        last = e->seq;
      }
      stats_.live_received.add();
      rooms_.deliver_from_broker(e->room, e->payload, e->op);
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

std::string_view RedisRooms::number(int i, uint64_t v) {
  char* p = numbers_[i];
  return {p, static_cast<size_t>(std::to_chars(p, p + sizeof numbers_[i], v).ptr - p)};
}

void RedisRooms::publish_live(std::string_view room, std::string_view message, OpCode op) {
  scratch_.clear();
  Partition& p = partitions_[partition_of(room)];
  RoomEnvelope::write_live(scratch_, options_.node_id, ++p.sent, op, room, message);
  const std::string_view channel = p.channel;
  stats_.live_published.add();
  redis_.command(channel, {"SPUBLISH", channel, scratch_}, [this](const RedisReply& r) {
    if (r.outcome() == RedisOutcome::not_sent || r.outcome() == RedisOutcome::too_many_redirects) {
      stats_.live_published.sub();
      stats_.dropped.add();
    } else if (r.outcome() == RedisOutcome::unknown) {
      stats_.unconfirmed.add();
    } else if (!r.ok()) {
      stats_.errors.add();
    }
  });
}

void RedisRooms::append(std::string_view room, std::string_view message, OpCode op, Position known, uint64_t term,
                        uint64_t new_epoch, uint64_t request) {
  const RoomOptions& options = rooms_.network().options(room);
  const std::string meta = key('m', room), log = key('l', room);
  keys_.assign({meta, log});
  const uint8_t op_code = static_cast<uint8_t>(op);
  args_.assign({partitions_[partition_of(room)].channel, room, number(0, op_code), message,
                number(1, options.history_size), number(2, static_cast<uint64_t>(options.history_ttl.count())),
                number(3, new_epoch), known.epoch == 0 ? std::string_view() : number(4, known.epoch),
                number(5, known.offset), number(6, term)});
  // → {epoch, offset, term}. An answer that never came may still have been appended: unknown, not refused.
  redis_.eval(publish_script(), keys_, args_, [this, request](const RedisReply& r) {
    if (r.outcome() == RedisOutcome::unknown) {
      durable_.on_appended(request, PublishStatus::unknown, {}, 0);
      return;
    }
    if (!r.ok()) {
      if (r.replied()) {
        stats_.errors.add();
        log::warn("rooms: Redis refused an append: {}", r.error());
      }
      durable_.on_appended(request, PublishStatus::refused, {}, 0);
      return;
    }
    Position at;
    uint64_t term = 0;
    if (r.value().type != RespType::array || r.value().integer != 3 || !to_u64(r.element(0).text, at.epoch) ||
        !to_u64(r.element(1).text, at.offset) || !to_u64(r.element(2).text, term)) {
      stats_.malformed.add();  // appended all the same: the script ran
      at = {};
    }
    durable_.on_appended(request, PublishStatus::logged, at, term);
  });
}

void RedisRooms::read(std::string_view room, std::optional<uint64_t> after, uint32_t count, uint64_t new_epoch,
                      uint64_t epoch, uint64_t term, uint64_t request) {
  const RoomOptions& options = rooms_.network().options(room);
  const std::string meta = key('m', room), log = key('l', room);
  keys_.assign({meta, log});
  args_.assign({after ? number(0, *after) : std::string_view("-1"), number(1, count), number(2, new_epoch),
                number(3, static_cast<uint64_t>(options.history_ttl.count())),
                epoch == 0 ? std::string_view() : number(4, epoch), number(5, term)});
  redis_.eval(history_script(), keys_, args_, [this, request](const RedisReply& r) { on_read_reply(request, r); });
}

// {epoch, last offset, [[id, [o, opcode, d, message, t, term]], ...], term of the last message}
void RedisRooms::on_read_reply(uint64_t request, const RedisReply& r) {
  uint64_t epoch = 0, top = 0, top_term = 0;
  if (!r.ok()) {
    if (r.replied()) stats_.errors.add();
    durable_.on_read(request, false, {}, 0, {});
    return;
  }
  const RespValue& v = r.value();
  if (v.type != RespType::array || v.integer != 4 || (!r.element(0).text.empty() && !to_u64(r.element(0).text, epoch)) ||
      !to_u64(r.element(1).text, top) || r.element(2).type != RespType::array || !to_u64(r.element(3).text, top_term)) {
    stats_.malformed.add();
    durable_.on_read(request, false, {}, 0, {});
    return;
  }
  const RespParser& p = r.parser();
  const RespValue& list = r.element(2);
  entries_.clear();
  for (int64_t i = 0; i < list.integer; ++i) {
    const RespValue& item = p.child(list, static_cast<size_t>(i));
    if (item.type != RespType::array || item.integer != 2) continue;
    const std::string_view id = p.child(item, 0).text;
    const RespValue& fields = p.child(item, 1);
    uint64_t offset = 0, op = 0, term = 0;
    // Entries appended before messages had terms have none: term 0.
    if (!to_u64(id.substr(0, id.find('-')), offset) || fields.type != RespType::array ||
        (fields.integer != 4 && fields.integer != 6) || !to_u64(p.child(fields, 1).text, op) || (op != 1 && op != 2) ||
        (fields.integer == 6 && !to_u64(p.child(fields, 5).text, term))) {
      continue;
    }
    entries_.push_back({offset, term, static_cast<OpCode>(op), p.child(fields, 3).text});
  }
  // Newest first when the latest were asked for: members get them oldest first.
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.offset < b.offset; });
  durable_.on_read(request, true, {epoch, top}, top_term, entries_);
}

void RedisRooms::presence(PresenceOp op, std::string_view room, std::span<const std::string> entries, uint64_t request) {
  const std::string z = key('z', room), h = key('h', room);
  keys_.assign({z, h});
  args_.assign({presence_op(op), partitions_[partition_of(room)].channel, room,
                number(0, static_cast<uint64_t>(std::chrono::milliseconds(DurableRooms::kPresenceTtl).count())),
                number(1, static_cast<uint64_t>(
                              std::chrono::duration_cast<std::chrono::seconds>(DurableRooms::kPresenceTtl).count() * 6))});
  for (const std::string& e : entries) {
    args_.push_back(e);
    args_.push_back(std::string_view(e).substr(e.find(':') + 1));  // the user
  }
  redis_.eval(presence_script(), keys_, args_, [this, request](const RedisReply& r) {
    if (r.replied() && !r.ok()) stats_.errors.add();
    if (request == 0) return;
    // {'1' when the join was announced, users...}
    if (!r.ok() || r.value().type != RespType::array || r.value().integer < 1) {
      durable_.on_presence_reply(request, false, false, {});
      return;
    }
    users_.clear();
    for (int64_t i = 1; i < r.value().integer; ++i) {
      const RespValue& u = r.element(static_cast<size_t>(i));
      if (u.type == RespType::bulk) users_.push_back(u.text);
    }
    durable_.on_presence_reply(request, true, r.element(0).is_bulk("1"), users_);
  });
}

}  // namespace ringcast
