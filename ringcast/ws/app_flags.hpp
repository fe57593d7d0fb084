#pragma once
// The command-line flags every ringcast server shares (ringcast/net/server_flags.hpp), applied to the
// options of an App: what the programs built on App (ringcast-echo, -chat, -game) call.
#include <string>

#include <ringcast/net/server_flags.hpp>
#include <ringcast/ws/app.hpp>

namespace ringcast {

// Fills host, port, shards and loop (TLS included) of `options`; on a bad value or an unreadable
// certificate returns false with a message in `error`.
bool apply_server_flags(const ServerFlags& flags, AppOptions& options, std::string& error);

}  // namespace ringcast
