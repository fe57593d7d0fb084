#pragma once
// MeshTask: a move-only callable `void(Shard&)` stored inline in one cache line, the unit that travels
// between shards. Captures must fit in kCapacity bytes (a static_assert says so at the call site),
// so sending never allocates. The task runs on the receiving shard's thread, exactly once; a task that
// is never run (the runtime shuts down first) is destroyed, so captured owners release what they hold.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace ringcast {

class Shard;

class MeshTask {
 public:
  static constexpr size_t kCapacity = 48;

  MeshTask() noexcept = default;

  template <typename Fn, typename = std::enable_if_t<!std::is_same_v<std::decay_t<Fn>, MeshTask>>>
  MeshTask(Fn&& fn) noexcept {  // NOLINT: implicit on purpose, send_to(j, [..](Shard&){..})
    using F = std::decay_t<Fn>;
    static_assert(sizeof(F) <= kCapacity, "MeshTask: captures too large; capture a pointer instead");
    static_assert(alignof(F) <= alignof(std::max_align_t), "MeshTask: over-aligned capture");
    static_assert(std::is_nothrow_move_constructible_v<F>, "MeshTask: captures must be nothrow-movable");
    static_assert(std::is_invocable_v<F&, Shard&>, "MeshTask: callable must take (Shard&)");
    new (storage_) F(std::forward<Fn>(fn));
    ops_ = &ops_for<F>;
  }

  MeshTask(MeshTask&& other) noexcept : ops_(other.ops_) {
    if (ops_) {
      ops_(Op::move_to, other.storage_, storage_);
      other.ops_ = nullptr;
    }
  }
  MeshTask& operator=(MeshTask&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = other.ops_;
      if (ops_) {
        ops_(Op::move_to, other.storage_, storage_);
        other.ops_ = nullptr;
      }
    }
    return *this;
  }
  MeshTask(const MeshTask&) = delete;
  MeshTask& operator=(const MeshTask&) = delete;
  ~MeshTask() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  // Runs the callable once and destroys it.
  void run(Shard& shard) {
    auto ops = ops_;
    ops_ = nullptr;
    ops(Op::run, storage_, &shard);
  }

 private:
  enum class Op { run, move_to, destroy };
  using Ops = void (*)(Op, void* self, void* arg);

  template <typename F>
  static void ops_for(Op op, void* self, void* arg) {
    F* f = static_cast<F*>(self);
    switch (op) {
      case Op::run:
        (*f)(*static_cast<Shard*>(arg));
        f->~F();
        break;
      case Op::move_to:
        new (arg) F(std::move(*f));
        f->~F();
        break;
      case Op::destroy:
        f->~F();
        break;
    }
  }

  void reset() noexcept {
    if (ops_) {
      ops_(Op::destroy, storage_, nullptr);
      ops_ = nullptr;
    }
  }

  Ops ops_ = nullptr;
  alignas(std::max_align_t) unsigned char storage_[kCapacity];
};

static_assert(sizeof(MeshTask) == 64, "a MeshTask is one cache line");

}  // namespace ringcast
