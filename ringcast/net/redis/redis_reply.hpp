#pragma once
// RedisReply: what a command's callback gets from RedisCluster — Redis' answer, or why there is none.
// The outcome tells a caller what it may do next:
//   replied             Redis answered; value() is the reply, which may be an error reply (ok() false)
//   not_sent            it never reached Redis (no connection to the node, too much queued, stopped):
//                       it did not run, and sending it again is safe
//   unknown             it was written, and the connection went before the answer: it may or may not
//                       have run (a PUBLISH may have been delivered, an XADD appended)
//   too_many_redirects  every node it was sent to answered MOVED or ASK: it did not run
// Views (value(), its strings, error()) are valid during the callback only.
#include <cstdint>
#include <functional>
#include <string_view>

#include <ringcast/net/redis/detail/resp_parser.hpp>

namespace ringcast {

enum class RedisOutcome : uint8_t { replied, not_sent, unknown, too_many_redirects };

class RedisReply {
 public:
  explicit RedisReply(RedisOutcome outcome) noexcept : outcome_(outcome) {}
  RedisReply(const RespParser& parser, const RespValue& value) noexcept
      : outcome_(RedisOutcome::replied), parser_(&parser), value_(&value) {}

  RedisOutcome outcome() const noexcept { return outcome_; }
  bool replied() const noexcept { return outcome_ == RedisOutcome::replied; }
  // Answered, and not with an error reply.
  bool ok() const noexcept { return replied() && value_->type != RespType::error; }
  // The reply; replied() only.
  const RespValue& value() const noexcept { return *value_; }
  const RespParser& parser() const noexcept { return *parser_; }
  // Element i of an array reply.
  const RespValue& element(size_t i) const noexcept { return parser_->child(*value_, i); }
  // The error reply's text ("NOSCRIPT …", "WRONGTYPE …"), or what the outcome means; "" when ok().
  std::string_view error() const noexcept;

 private:
  RedisOutcome outcome_;
  const RespParser* parser_ = nullptr;
  const RespValue* value_ = nullptr;
};

// Called once per command, on the shard's thread. Captures up to 16 bytes (two pointers) are kept
// without allocating.
using RedisCallback = std::function<void(const RedisReply&)>;

}  // namespace ringcast
