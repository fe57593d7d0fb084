#include "bench/load/pacers.hpp"

namespace ringcast::load {

struct Pacers::Pacer : Timer {
  Worker* worker;
  std::function<void(Worker&)> pump;
  const std::vector<uint8_t>* stopped;
  Pacer(Worker* w, std::function<void(Worker&)> fn, const std::vector<uint8_t>* s)
      : Timer(&fire), worker(w), pump(std::move(fn)), stopped(s) {}
  static void fire(Timer& t) {
    auto& p = static_cast<Pacer&>(t);
    if ((*p.stopped)[p.worker->id]) return;
    p.pump(*p.worker);
    p.worker->shard->timers().schedule_in(p, 1);
  }
};

Pacers::Pacers() = default;
Pacers::~Pacers() = default;

void Pacers::attach(unsigned workers) { pacers_.resize(workers); }

void Pacers::start(Worker& w, std::function<void(Worker&)> pump, const std::vector<uint8_t>& stopped) {
  pacers_[w.id] = std::make_unique<Pacer>(&w, std::move(pump), &stopped);
  w.shard->timers().schedule_in(*pacers_[w.id], 1);
}

void Pacers::reset() {
  for (auto& p : pacers_) p.reset();
}

}  // namespace ringcast::load
