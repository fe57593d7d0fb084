#pragma once
// The WebSocket-specific pieces of the opening handshake (RFC 6455 §4): the Sec-WebSocket-Key check
// and the Sec-WebSocket-Accept answer (server), key generation and answer check (client), subprotocol
// selection. The HTTP parsing around them is the HTTP layer's. Header values are passed as the HTTP
// parser hands them out: trimmed of surrounding whitespace, repeated fields joined with ", ". Pure
// functions, callable from any thread.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ringcast {

// RFC 6455 §1.3: appended to the key before hashing.
inline constexpr std::string_view kWebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
inline constexpr size_t kWebSocketKeySize = 24;     // base64 of 16 bytes
inline constexpr size_t kWebSocketAcceptSize = 28;  // base64 of a 20-byte SHA-1

// §4.2.1 item 5: the key is a base64-encoded 16-byte value. Strict: exactly 24 characters, 22 from the
// base64 alphabet of RFC 4648 §4 ('+' and '/', not the URL-safe set), then "=="; the 4 bits the last
// character carries beyond the 16 bytes must be 0 (canonical encoding, RFC 4648 §3.5).
bool websocket_key_valid(std::string_view key) noexcept;

// §4.2.2 item 5.4: base64(SHA-1(key + GUID)), written to `out` (kWebSocketAcceptSize bytes, no NUL).
// Returns false only if OpenSSL fails to hash (out of memory), never for any key.
bool write_websocket_accept(std::string_view key, char* out) noexcept;
// Same, as a string (empty if OpenSSL failed).
std::string websocket_accept(std::string_view key);

// §4.1 item 7: a client's key, base64 of a 16-byte nonce.
std::string make_websocket_key(std::span<const uint8_t, 16> nonce);
// Same with a nonce from OpenSSL's RAND_bytes (empty if the generator failed).
std::string make_websocket_key();

// §4.1 items 4 and 5 of the client's checks: the server's Sec-WebSocket-Accept matches our key.
bool websocket_accept_matches(std::string_view key, std::string_view accept) noexcept;

// §4.2.2 item 5.4: picks the subprotocol to answer with. `offered` is the client's
// Sec-WebSocket-Protocol value (a comma-separated token list, §11.3.4); the result is the first entry
// of `supported` (the server's order of preference) that the client offered, compared exactly (a view
// of that entry), or empty: answer without the header.
std::string_view select_subprotocol(std::string_view offered, std::span<const std::string_view> supported) noexcept;

}  // namespace ringcast
