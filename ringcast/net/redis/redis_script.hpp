#pragma once
// RedisScript: a Lua script for EVALSHA — its source and its SHA1, computed once. RedisCluster runs it
// with EVALSHA, and where the node does not know it yet (NOSCRIPT: a new node, a restart, a failover
// to a replica whose cache is empty) sends it again with EVAL, which also leaves it in that node's
// cache. Made at start-up and kept for as long as any command that uses it may be in flight (static
// storage, or the owner of the RedisCluster). Immutable: any thread may read it.
#include <string>
#include <string_view>

namespace ringcast {

class RedisScript {
 public:
  explicit RedisScript(std::string source);

  const std::string& source() const noexcept { return source_; }
  // 40 lowercase hex digits, as SCRIPT LOAD returns them.
  std::string_view sha1() const noexcept { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace ringcast
