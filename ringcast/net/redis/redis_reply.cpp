#include <ringcast/net/redis/redis_reply.hpp>

namespace ringcast {

std::string_view RedisReply::error() const noexcept {
  switch (outcome_) {
    case RedisOutcome::replied: return value_->type == RespType::error ? value_->text : std::string_view();
    case RedisOutcome::not_sent: return "not sent (no connection to its node, too much queued, or stopped): it did not run";
    case RedisOutcome::unknown: return "the connection was lost before the reply: it may or may not have run";
    case RedisOutcome::too_many_redirects: return "redirected (MOVED/ASK) too many times";
  }
  return "?";
}

}  // namespace ringcast
