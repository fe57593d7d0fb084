#pragma once
// PublishRequest: a publish whose publisher gave an on_done, on its way from the publishing shard to the
// shard that fans it out (the room's home, for sequenced and durable rooms), which tallies what every
// shard with members made of it and sends the outcome back to `reply_to`. Publishes without an on_done
// carry none: the default path costs nothing. Owned by whichever shard holds it (one at a time: it
// travels by unique_ptr in mesh tasks, and a task never run frees it).
#include <cstdint>

#include <ringcast/ws/rooms/publish_outcome.hpp>

namespace ringcast {

struct PublishRequest {
  PublishDone done;
  unsigned reply_to = 0;  // the shard on_done runs on
  uint32_t pending = 0;   // while tallied: shards whose fan-out is still to be heard
  PublishOutcome outcome;
};

}  // namespace ringcast
