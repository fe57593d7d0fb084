#pragma once
// require_program: one rule for a test that needs a program someone else wrote (python3 with
// websockets, node, chromium, curl, redis-server). When it is missing the test cannot run: under CI
// (CI=true) that fails the test, since a CI machine has everything scripts/setup installs; elsewhere
// the test reports a skip that says how to install the program, and ctest lists it as skipped (it
// matches kSkipMarker, tests/CMakeLists.txt's SKIP_REGULAR_EXPRESSION). tests/support/missing_program.cmake
// applies the same rule to the tests ctest runs without doctest. The caller returns on false:
//
//   if (!test::require_program("/usr/bin/curl", "scripts/setup installs curl")) return;
//
// Call it first in a test case, from the thread that runs it: ctest lists a test whose output holds
// the marker as skipped, whatever else the test reported.
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.hpp"

namespace ringcast::test {

// What a skipped test prints; ctest marks a test whose output holds it as skipped.
inline constexpr std::string_view kSkipMarker = "ringcast-test-skipped:";

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view(ci) == "true";
}

// Reports what is missing (`problem`: "/usr/bin/curl is missing"): a failure under CI, a skip
// elsewhere. Returns false.
inline bool missing_program(std::string_view problem, std::string_view how_to_install) {
  if (running_in_ci()) {
    FAIL_CHECK(problem, ", and CI=true requires it (", how_to_install, ")");
  } else {
    MESSAGE(kSkipMarker, " ", problem, " (", how_to_install, ")");
  }
  return false;
}

// True when `path` is an executable file.
inline bool require_program(const std::string& path, std::string_view how_to_install) {
  return ::access(path.c_str(), X_OK) == 0 || missing_program(path + " is missing", how_to_install);
}

// True when `probe` (a program's path and its arguments) runs and exits 0 within 30 s: for a program
// that needs more than to be there, such as python3 with a module (`python3 -c "import websockets"`).
inline bool require_program_passes(const std::vector<std::string>& probe, std::string_view how_to_install) {
  if (::access(probe.at(0).c_str(), X_OK) == 0 && run_program(probe, {}, std::chrono::seconds(30)).status == 0) return true;
  std::string command;
  for (const std::string& word : probe) command += (command.empty() ? "" : " ") + word;
  return missing_program("`" + command + "` fails", how_to_install);
}

// Debian's interpreter, which has python3-websockets (a python3 earlier on PATH may not): the peer
// that tests of the client and of the servers talk to.
inline const std::string kPython = "/usr/bin/python3";

inline bool require_python_websockets() {
  return require_program_passes({kPython, "-c", "import websockets"}, "scripts/setup installs python3-websockets");
}

}  // namespace ringcast::test
