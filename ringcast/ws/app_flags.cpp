#include <ringcast/ws/app_flags.hpp>

namespace ringcast {

bool apply_server_flags(const ServerFlags& flags, AppOptions& options, std::string& error) {
  if (!flags.address(error) || !flags.apply(options.shards, options.loop, error)) return false;
  options.host = flags.host;
  options.port = static_cast<uint16_t>(flags.port);
  return true;
}

}  // namespace ringcast
