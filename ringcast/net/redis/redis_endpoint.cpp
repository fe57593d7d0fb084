#include <ringcast/net/redis/redis_endpoint.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>

#include <charconv>

namespace ringcast {
namespace {

std::optional<SocketAddress> resolve(const std::string& host, uint16_t port, std::string& error) {
  const bool v6 = host.find(':') != std::string::npos;
  if (auto a = SocketAddress::parse(v6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port))) {
    return a;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0 || !res) {
    error = fmt::format("cannot resolve '{}': {}", host, ::gai_strerror(rc));
    return std::nullopt;
  }
  char text[INET6_ADDRSTRLEN] = {};
  const int family = res->ai_family;
  if (family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(res->ai_addr)->sin6_addr, text, sizeof text);
  }
  ::freeaddrinfo(res);
  auto a = SocketAddress::parse(family == AF_INET ? fmt::format("{}:{}", text, port) : fmt::format("[{}]:{}", text, port));
  if (!a) error = fmt::format("cannot use the address of '{}'", host);
  return a;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1: %XX is the byte XX.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

std::optional<RedisEndpoint> RedisEndpoint::parse(std::string_view url, std::string& error) {
  // Error messages quote `shown`, the URL with whatever precedes its last '@' hidden, never `url`.
  std::string shown(url);
  const size_t scheme_end = url.find("://");
  if (const size_t at = url.rfind('@'); scheme_end != std::string_view::npos && at != std::string_view::npos && at > scheme_end) {
    shown = fmt::format("{}***{}", url.substr(0, scheme_end + 3), url.substr(at));
  }
  const auto fail = [&](std::string_view why) {
    error = fmt::format("redis URL '{}': {}", shown, why);
    return std::nullopt;
  };

  RedisEndpoint e;
  bool secure = false;
  std::string_view rest;
  if (url.substr(0, 8) == "redis://") {
    rest = url.substr(8);
  } else if (url.substr(0, 9) == "rediss://") {
    rest = url.substr(9);
    secure = true;
  } else {
    return fail("expected redis://[user[:password]@]host[:port][/prefix] or rediss://…");
  }
  std::string_view query;
  if (const size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    e.prefix = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
  }
  if (const size_t a = rest.rfind('@'); a != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, a);
    rest = rest.substr(a + 1);
    const size_t colon = credentials.find(':');
    if (!percent_decode(credentials.substr(0, colon), e.user)) return fail("bad %-escape in the user");
    if (colon != std::string_view::npos && !percent_decode(credentials.substr(colon + 1), e.password)) {
      return fail("bad %-escape in the password");
    }
    if (e.user.empty() && e.password.empty()) return fail("empty credentials before '@'");
  }

  std::string_view host = rest;
  std::string_view port_text;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("unterminated [address]");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return fail("expected :port after ]");
      port_text = rest.substr(close + 2);
      has_port = true;
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
    has_port = true;
  }
  uint16_t port = 6379;
  if (has_port) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || p == 0 || p > 65535) {
      return fail(fmt::format("bad port '{}'", port_text));
    }
    port = static_cast<uint16_t>(p);
  }
  if (host.empty()) return fail("no host");
  e.host = std::string(host);

  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (key == "ca_file" && !value.empty()) {
      if (!secure) return fail("ca_file is for rediss:// (TLS) URLs");
      if (!percent_decode(value, e.ca_file)) return fail("bad %-escape in ca_file");
    } else {
      return fail(fmt::format("unknown parameter '{}' (known: ca_file)", pair));
    }
  }

  auto address = resolve(e.host, port, error);
  if (!address) return fail(error);
  e.address = *address;
  if (secure) {
    if (e.ca_file.empty()) {
      e.tls = TlsContext::default_client();
      if (!e.tls) return fail("the system's trust store cannot be loaded");
    } else {
      std::string why;
      e.tls = TlsContext::client(TlsClientOptions{.ca_file = e.ca_file, .verify_peer = true}, why);
      if (!e.tls) return fail(why);
    }
  }
  return e;
}

std::string RedisEndpoint::to_string() const {
  std::string out = tls ? "rediss://" : "redis://";
  if (auth()) out += fmt::format("{}{}@", user, password.empty() ? "" : ":***");
  if (host.find(':') != std::string::npos) {
    out += fmt::format("[{}]:{}", host, address.port());
  } else {
    out += fmt::format("{}:{}", host, address.port());
  }
  if (!prefix.empty()) out += "/" + prefix;
  if (!ca_file.empty()) out += "?ca_file=" + ca_file;
  return out;
}

}  // namespace ringcast
