#include <ringcast/ws/app_flags.hpp>

namespace ringcast {

bool apply_server_flags(const ServerFlags& flags, AppOptions& options, std::string& error) {
  TcpServerOptions server;  // validates every flag, loads the certificate
  if (!flags.apply(server, error)) return false;
  options.host = flags.host;
  options.port = static_cast<uint16_t>(flags.port);
  options.shards = server.shards;
  options.loop = server.loop;
  options.yield_interval = server.yield_interval;
  return true;
}

}  // namespace ringcast
