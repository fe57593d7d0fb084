#pragma once
// The Lua scripts rooms run in Redis. Each touches the keys of one room only, all under the room's
// partition hash tag, so in a Redis Cluster a script runs on the one node that holds the room, and its
// SPUBLISH goes to that partition's channel on the same node. Redis runs a script atomically: a room's
// log, its counters and what its channel carries change together, in one order.
//
// Keys of room R in partition tag {T}, under the broker's prefix P:
//   P{T}m:R   hash   e = epoch, s = offset of the last message, c = term of the last message
//   P{T}l:R   stream the latest messages, entry id "<offset>-0", fields o = opcode, d = message, t = term
//   P{T}z:R   zset   presence entries "<node>:<user>", scored by when they expire (ms, Redis' clock)
//   P{T}h:R   hash   presence: user -> number of nodes the user is on
// Channel of partition T: P{T}c. What it carries (parsed by RoomEnvelope):
//   M<epoch>:<offset>:<term>:<op>:<room length>:<room><message>   a durable room's message
//   P<0|1>:<room length>:<room><user>                        a user left (0) or joined (1)
//   L<node>:<seq>:<op>:<room length>:<room><message>         a live room's message (from C++); seq counts
//                                                            the node's messages on this channel
//
// Terms. A message's term is the config epoch of the Redis primary that appended it (cluster_my_epoch;
// 0 for a Redis without cluster support). A Redis Cluster gives a slot's new owner a higher config epoch
// than its former one (a failover, a slot moved), so along a room's log the terms never go down. A
// primary that was stopped (SIGSTOP, a long pause) and replaced still runs, when it resumes and before it
// learns of its replacement, the commands that waited in its sockets: it appends to its own copy of the
// log — lost when it becomes a replica — and its SPUBLISHes reach subscribers, its former replica's
// included (Redis propagates sharded messages over the cluster bus). Those messages carry its older term:
// nodes that have seen a newer one drop them (DurableRooms), and the scripts refuse (STALE) a caller
// that has seen a newer term than the node it runs on, rather than extend or restart a log there.
#include <string_view>

namespace ringcast::redis_scripts {

// node_term(): the term of the node running the script (see above). Loaded in front of the scripts
// that use it (kPublish, kHistory).
inline constexpr std::string_view kNodeTerm = R"lua(
local function node_term()
  local info = redis.pcall('CLUSTER', 'INFO')
  if type(info) ~= 'string' then return 0 end
  return tonumber(string.match(info, 'cluster_my_epoch:(%d+)') or '0')
end
)lua";

// Appends a message to a durable room's log and publishes it with its position and term.
//   KEYS: meta, log
//   ARGV: channel, room, opcode, message, max entries (approximate), ttl seconds, epoch to start a new
//         log with, the epoch, last offset and term the caller has seen
//   → {epoch, offset, term}; error STALE when this node's term is below the caller's in the same log
// A log is started afresh (new epoch, offsets from 1) when there is none, or when the caller has seen
// an offset of this epoch that the log no longer reaches: Redis lost messages (a failover before
// replication, a restart without persistence), and offsets must never be given twice. A node whose term
// is older than the caller's is a replaced primary: it neither extends that log nor starts it over.
inline constexpr std::string_view kPublish = R"lua(
local m = redis.call('HMGET', KEYS[1], 'e', 's')
local epoch, top = m[1], tonumber(m[2] or '0')
local term = node_term()
if epoch and epoch == ARGV[8] and term < tonumber(ARGV[10]) then
  return redis.error_reply('STALE this node is behind the log its caller has seen (term ' .. term .. ' < ' .. ARGV[10] .. ')')
end
if not epoch or (epoch == ARGV[8] and top < tonumber(ARGV[9])) then
  epoch, top = ARGV[7], 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'e', epoch)
end
top = top + 1
local offset = string.format('%d', top)
redis.call('HSET', KEYS[1], 's', offset, 'c', term)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], offset .. '-0', 'o', ARGV[3], 'd', ARGV[4], 't', term)
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('SPUBLISH', ARGV[1], 'M' .. epoch .. ':' .. offset .. ':' .. term .. ':' .. ARGV[3] .. ':' .. #ARGV[2] .. ':' .. ARGV[2] .. ARGV[4])
return {epoch, offset, tostring(term)}
)lua";

// Reads a durable room's position and messages.
//   KEYS: meta, log
//   ARGV: after (an offset; negative: the latest messages, newest first), max entries, the epoch to start
//         a log with when there is none ('0': do not), its ttl seconds, the epoch and term the caller has
//         seen ('' and 0: none)
//   → {epoch ('' when there is no log), last offset, [[id, [o, opcode, d, message, t, term]], ...],
//      term of the last message}; error STALE as for an append
inline constexpr std::string_view kHistory = R"lua(
local m = redis.call('HMGET', KEYS[1], 'e', 's', 'c')
local term = node_term()
if m[1] and m[1] == ARGV[5] and term < tonumber(ARGV[6]) then
  return redis.error_reply('STALE this node is behind the log its caller has seen (term ' .. term .. ' < ' .. ARGV[6] .. ')')
end
if not m[1] then
  if ARGV[3] == '0' then return {'', '0', {}, '0'} end
  m = {ARGV[3], '0', tostring(term)}
  redis.call('HSET', KEYS[1], 'e', ARGV[3], 's', '0', 'c', term)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local entries
if tonumber(ARGV[1]) < 0 then
  entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])
else
  entries = redis.call('XRANGE', KEYS[2], ARGV[1] .. '-1', '+', 'COUNT', ARGV[2])
end
return {m[1], m[2] or '0', entries, m[3] or '0'}
)lua";

// Presence of a room across nodes. Every call first removes the entries that expired (a node that
// stopped refreshing them: it died or lost Redis) and announces the users that thereby left.
//   KEYS: entries zset, users hash
//   ARGV: op (join | leave | refresh | list), channel, room, entry ttl ms, key ttl s, then pairs of
//         (entry "<node>:<user>", user)
//   → join, list: {'1' if a join was announced else '0', the users present...}; leave, refresh: 0
inline constexpr std::string_view kPresence = R"lua(
-- KEYS: zset of "<node>:<user>" by expiry (ms), hash user -> nodes. ARGV: op, channel, room, ttl_ms,
-- key_ttl_s, then (member, user) pairs. op: join | leave | refresh | list.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local channel, room = ARGV[2], ARGV[3]
local head = ':' .. #room .. ':' .. room
local function gone(user)
  if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
    redis.call('HDEL', KEYS[2], user)
    redis.call('SPUBLISH', channel, 'P0' .. head .. user)
  end
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('ZREM', KEYS[1], member)
  gone(string.sub(member, string.find(member, ':', 1, true) + 1))
end
local op = ARGV[1]
local announced = '0'
for i = 6, #ARGV, 2 do
  local member, user = ARGV[i], ARGV[i + 1]
  if op == 'leave' then
    if redis.call('ZREM', KEYS[1], member) == 1 then gone(user) end
  elseif redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), member) == 1 then
    if redis.call('HINCRBY', KEYS[2], user, 1) == 1 then
      redis.call('SPUBLISH', channel, 'P1' .. head .. user)
      announced = '1'
    end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
end
if op == 'join' or op == 'list' then
  local users = redis.call('HKEYS', KEYS[2])
  table.insert(users, 1, announced)
  return users
end
return 0
)lua";

}  // namespace ringcast::redis_scripts
