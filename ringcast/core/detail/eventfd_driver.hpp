#pragma once
// EventfdDriver: the driver of a shard that does no I/O — it only sleeps until a timer is due or
// the shard's wake eventfd is written. Compute shards and the core tests use it.
#include <ringcast/core/detail/event_driver.hpp>

namespace ringcast {

class EventfdDriver final : public EventDriver {
 public:
  explicit EventfdDriver(Shard& shard) noexcept : shard_(shard) {}
  std::string_view name() const noexcept override { return "eventfd"; }
  void wait(int64_t timeout_ns) override;

 private:
  Shard& shard_;
};

}  // namespace ringcast
