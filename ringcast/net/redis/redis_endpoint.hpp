#pragma once
// RedisEndpoint: how to reach and log in to a Redis server, parsed once at start-up from a URL, and
// then shared read-only by every shard (each copies it into its clients).
//
//   redis://[user[:password]@]host[:port][/prefix]
//   rediss://[user[:password]@]host[:port][/prefix][?ca_file=PATH]
//
// - Port 6379 by default. The host may be a name: it is resolved here, with a blocking lookup, so
//   parse() belongs at start-up, never on a shard.
// - With a password, AUTH is sent before the connection counts as up: `redis://:secret@host` sends
//   AUTH secret (the `default` user, or requirepass); `redis://alice:secret@host` sends AUTH alice
//   secret (an ACL user). `user@host` without a password sends an empty one (an ACL user with
//   nopass). Characters such as @ : / % in a user or password are written %XX.
// - `rediss://` is TLS (1.2 or 1.3) with the server's certificate verified against the system's
//   trust store, or against the certificates in ca_file, and its name checked against the host as
//   written in the URL (a name, or an IP address the certificate must list).
// - The path is a prefix for the names ringcast gives its keys and channels (e.g. "app1:").
//
// Secrets: the password is kept for AUTH only; to_string() and every log line show the URL without
// it. Thread: immutable once parsed; the TLS context it holds is shared read-only.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <ringcast/net/socket_address.hpp>
#include <ringcast/net/tls/tls_context.hpp>

namespace ringcast {

struct RedisEndpoint {
  SocketAddress address;  // numeric, resolved at parse time
  std::string host;       // as written in the URL (TLS: the name the certificate must carry)
  std::string user;       // ACL user; empty: the default user
  std::string password;   // empty (and no user): no AUTH
  std::string prefix;     // the URL's path, without its leading '/'
  std::string ca_file;    // rediss: certificates to trust instead of the system's store
  std::shared_ptr<const TlsContext> tls;  // rediss: the client context; null for redis://

  // nullopt with `error` set (never containing the password) when the URL is not one of the forms
  // above, the host does not resolve, or ca_file cannot be loaded.
  static std::optional<RedisEndpoint> parse(std::string_view url, std::string& error);

  bool auth() const noexcept { return !password.empty() || !user.empty(); }
  // The URL without the password (`rediss://alice:***@host:6380/app1:`), for logs.
  std::string to_string() const;
};

}  // namespace ringcast
