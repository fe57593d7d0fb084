// A program outside the ringcast tree, built against an installed ringcast.
#include <ringcast/core/log.hpp>
#include <fmt/core.h>

int main() {
  ringcast::log::Level level{};
  if (!ringcast::log::parse_level("info", level)) return 1;
  fmt::print("installed ringcast works\n");
  return 0;
}
