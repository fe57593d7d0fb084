#pragma once
// Paced sending (--rate) for the load scenarios: a 1 ms timer per worker that sends what is due.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "bench/load/driver.hpp"

namespace ringcast::load {

// A 1 ms timer on each worker calls `pump`, which sends what is due by now, until the worker stops
// (`stopped`, by worker id, as the scenario keeps it).
class Pacers {
 public:
  Pacers();
  ~Pacers();
  void attach(unsigned workers);  // before the workers start
  void start(Worker& w, std::function<void(Worker&)> pump, const std::vector<uint8_t>& stopped);  // on w's thread
  void reset();  // after every worker stopped

 private:
  struct Pacer;
  std::vector<std::unique_ptr<Pacer>> pacers_;
};

// How many messages a stream paced at `rate` a second and started at `started_ns` owes by `now_ns`.
inline uint64_t due_by(int64_t now_ns, int64_t started_ns, double rate) noexcept {
  return static_cast<uint64_t>(static_cast<double>(now_ns - started_ns) * 1e-9 * rate);
}

}  // namespace ringcast::load
