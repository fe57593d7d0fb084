#include <ringcast/net/backend/loop_options.hpp>

#include <utility>

namespace ringcast {
namespace {

constexpr std::pair<std::string_view, uint32_t> kFeatureNames[] = {
    {"single_issuer", kFeatureSingleIssuer},     {"defer_taskrun", kFeatureDeferTaskrun},
    {"accept_multishot", kFeatureAcceptMultishot}, {"recv_multishot", kFeatureRecvMultishot},
    {"buf_ring", kFeatureBufRing},               {"msg_ring", kFeatureMsgRing},
    {"registered_ring", kFeatureRegisteredRing}, {"fixed_files", kFeatureFixedFiles},
    {"recv_bundle", kFeatureRecvBundle},
};

}  // namespace

std::optional<Backend> parse_backend(std::string_view name) noexcept {
  if (name == "auto") return Backend::automatic;
  if (name == "io_uring") return Backend::io_uring;
  if (name == "epoll") return Backend::epoll;
  return std::nullopt;
}

std::string_view backend_name(Backend b) noexcept {
  switch (b) {
    case Backend::automatic: return "auto";
    case Backend::io_uring: return "io_uring";
    case Backend::epoll: return "epoll";
  }
  return "?";
}

std::optional<uint32_t> parse_io_uring_features(std::string_view list) noexcept {
  if (list == "all") return kFeatureAll;
  if (list == "none" || list.empty()) return 0u;
  uint32_t bits = 0;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    bool known = false;
    for (const auto& [n, bit] : kFeatureNames) {
      if (n == name) {
        bits |= bit;
        known = true;
      }
    }
    if (!known) return std::nullopt;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return bits;
}

std::string describe_io_uring_features(uint32_t features) {
  std::string out;
  for (const auto& [name, bit] : kFeatureNames) {
    if (!(features & bit)) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace ringcast
