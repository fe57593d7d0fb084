#pragma once
// NetStats: what a shard's event loop counts (read by /metrics from any thread, see Counter).
#include <ringcast/core/counter.hpp>

namespace ringcast {

struct NetStats {
  Counter connections_open;    // records alive: accepted or connecting, until fully released
  Counter connections_total;   // accepted + connected since start
  Counter connections_closed;
  Counter accept_errors;       // EMFILE/ENFILE and other accept failures
  Counter accepts_refused;     // connections reset at once: their address over its AcceptLimits rate
  Counter accept_pauses;       // times a listener stopped accepting: the server over its AcceptLimits rate
  Counter bytes_in;
  Counter bytes_out;
  Counter reads;               // receive completions (io_uring) or recv calls (epoll)
  Counter sends;               // send submissions (io_uring) or writev calls (epoll)
  Counter submits;             // io_uring_enter / epoll_wait calls
  Counter read_pauses;         // times reading stopped because output piled up
  Counter mesh_pauses;         // times reading stopped because input overflowed a queue to another shard
  Counter no_buffers;          // io_uring: receives that found the buffer ring empty
  Counter output_bytes_queued; // bytes waiting in output queues right now (TLS: plaintext + ciphertext)
  Counter tls_errors;          // TLS connections ended by a failed handshake or a bad record
  Counter closing_resets;      // closing connections closed at once: their peer sent on after the close
};

}  // namespace ringcast
