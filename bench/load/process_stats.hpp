#pragma once
// What /proc says about a process or thread: CPU time (user + system) and resident memory. For
// another process the figures cover its descendants too: a server may be several processes (one per
// core, sharing a port), and its cost is theirs together.
#include <sys/types.h>

#include <cstdint>

namespace ringcast::load {

// CPU seconds used by process `pid` and its live descendants (0: this process alone), or -1 when it
// cannot be read.
double process_cpu_seconds(pid_t pid = 0);
// CPU seconds used by thread `tid` of this process, or -1.
double thread_cpu_seconds(pid_t tid);
// Resident set size in bytes of process `pid` and its live descendants (0: this process alone), or -1.
int64_t process_rss_bytes(pid_t pid = 0);
// The calling thread's id (for thread_cpu_seconds).
pid_t current_tid();

}  // namespace ringcast::load
