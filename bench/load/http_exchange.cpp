#include "bench/load/http_exchange.hpp"

#include <charconv>
#include <cstring>

#include <ringcast/net/http/detail/http_response_parser.hpp>

namespace ringcast::load {

bool HttpExchange::start(const SocketAddress& to, std::string request, Done done, const SocketAddress* from,
                         const TlsContext* tls, std::string_view server_name) {
  auto* p = new Pending{std::move(request), std::move(done)};
  Connection* c = loop_.connect(to, *this, p, from, tls, server_name);
  if (!c) {
    delete p;
    return false;
  }
  loop_.write(*c, p->request);
  return true;
}

void HttpExchange::on_open(Connection&) {}

size_t HttpExchange::on_data(Connection& c, std::span<uint8_t> data) {
  auto& p = *static_cast<Pending*>(c.context);
  const std::string_view in(reinterpret_cast<const char*>(data.data()), data.size());
  const HttpResponseHead head = HttpResponseHead::parse(in);
  if (head.status == HttpResponseHead::Status::incomplete) return 0;
  if (head.status == HttpResponseHead::Status::error) {
    p.answered = true;
    p.done(0, head.error);
    loop_.close(c);
    return data.size();
  }
  size_t length = 0;
  const std::string_view cl = head.header("Content-Length");
  std::from_chars(cl.data(), cl.data() + cl.size(), length);
  if (length > (64 << 10)) length = 64 << 10;
  if (in.size() < head.head_bytes + length) return 0;  // the body is still coming
  p.answered = true;
  p.done(head.code, in.substr(head.head_bytes, length));
  loop_.close(c);
  return data.size();
}

void HttpExchange::on_close(Connection& c, int error) {
  auto* p = static_cast<Pending*>(c.context);
  if (!p->answered) p->done(0, error < 0 ? std::strerror(-error) : "closed before answering");
  delete p;
}

}  // namespace ringcast::load
