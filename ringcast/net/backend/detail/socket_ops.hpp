#pragma once
// Small socket helpers shared by both backends. Errors come back as negative errno values.
#include <ringcast/net/socket_address.hpp>

namespace ringcast {

// A listening TCP socket with SO_REUSEPORT (one per shard share a port) and SO_REUSEADDR.
// `nonblocking` for readiness backends (epoll); io_uring uses blocking sockets.
int make_listener(const SocketAddress& addr, int backlog, bool nonblocking) noexcept;

// A TCP socket bound (without listening) to `addr` with SO_REUSEPORT: it reserves a port (port 0
// picks one) so that every shard's listener can bind the same port. Returns the fd; the bound
// address (with the real port) goes into `bound`.
int reserve_port(const SocketAddress& addr, SocketAddress& bound) noexcept;

// The address a socket is bound to.
SocketAddress local_address(int fd) noexcept;
// The address of a connected socket's peer; empty (AF_UNSPEC) when unknown.
SocketAddress peer_address(int fd) noexcept;
// Closes a connection with a reset (SO_LINGER 0): no FIN handshake, no TIME_WAIT left on our side.
void reset_connection(int fd) noexcept;

// Per-connection options: TCP_NODELAY (messages, not streams: never wait for Nagle).
void tune_connection(int fd) noexcept;

// Raises RLIMIT_NOFILE's soft limit to the hard limit (once per process); returns the new soft limit.
long raise_fd_limit() noexcept;

}  // namespace ringcast
