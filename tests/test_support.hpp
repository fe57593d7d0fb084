#pragma once
// Helpers shared by tests: which backend the "io" suite runs on, paths of the source and build trees.
#include <string>

namespace ringcast::test {

// "io_uring", "epoll" or "io_uring-minimal" (io_uring with every optional kernel feature off).
const std::string& backend_name();

inline std::string source_path(const std::string& rel) { return std::string(RINGCAST_SOURCE_DIR) + "/" + rel; }
inline std::string binary_path(const std::string& rel) { return std::string(RINGCAST_BINARY_DIR) + "/" + rel; }

}  // namespace ringcast::test
