// doctest main shared by every test binary. `--backend=NAME` selects the event-loop backend that the
// tests in the "io" suite run on (ctest registers them once per backend).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>
#include <string>

#include "tests/support/test_support.hpp"

namespace ringcast::test {
namespace {
std::string g_backend = "io_uring";
}
const std::string& backend_name() { return g_backend; }
}  // namespace ringcast::test

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--backend=", 10) == 0) ringcast::test::g_backend = argv[i] + 10;
  }
  std::signal(SIGPIPE, SIG_IGN);  // tests write to sockets that peers close on purpose
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
