// ChatShard's HTTP side: the page, POST /login (its password check runs on a login thread), and
// the admission of the WebSocket upgrade (Origin, one-time token).
#include "apps/chat/chat_shard.hpp"

#include <openssl/sha.h>

#include <charconv>
#include <optional>

#include "apps/chat/chat_page.hpp"
#include "apps/chat/chat_server.hpp"
#include "apps/chat/json_writer.hpp"
#include "apps/chat/password_hash.hpp"
#include <ringcast/core/log.hpp>
#include <ringcast/core/worker_pool.hpp>
#include <ringcast/net/redis/redis_cluster.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast::chat {
namespace {

// The 'sha256-…' source of the first <tag>…</tag> text in `html`, for the Content-Security-Policy.
std::string inline_hash(std::string_view html, std::string_view tag) {
  std::string open = "<", close = "</";
  open.append(tag);
  close.append(tag).append(">");
  const size_t at = html.find(open);
  if (at == std::string_view::npos) return {};
  const size_t start = html.find('>', at);
  const size_t end = start == std::string_view::npos ? start : html.find(close, start);
  if (end == std::string_view::npos) return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(html.data() + start + 1), end - start - 1, digest);
  std::string b64 = detail::base64_encode(digest, sizeof digest);
  while (b64.size() % 4) b64 += '=';
  return "'sha256-" + b64 + "'";
}

void send_page(Response& res, std::string_view html, std::string_view csp) {
  res.header("Cache-Control", "no-cache")
      .header("Content-Security-Policy", csp)
      .header("X-Content-Type-Options", "nosniff")
      .header("Referrer-Policy", "no-referrer")
      .send(html, "text/html; charset=utf-8");
}

void json_error(Response& res, int status, std::string_view message) {
  std::string body;
  JsonWriter(body).begin_object().key("error").value(message).end_object();
  res.status(status).json(body);
}

}  // namespace

std::string content_security_policy(std::string_view html) {
  return "default-src 'none'; script-src " + inline_hash(html, "script") + "; style-src " + inline_hash(html, "style") +
         "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

void ChatShard::page(Request&, Response& res) {
  const StaticFiles* web = server_.web();
  if (!web) {
    send_page(res, chat_page(), csp_);
    return;
  }
  StaticFile file;
  if (web->read("index.html", file) != 200) {
    res.status(file.status).send(http_reason_phrase(file.status));
    return;
  }
  send_page(res, file.body, content_security_policy(file.body));
}

void ChatShard::login(Request& req, Response& res) {
  res.header("Cache-Control", "no-store");
  simdjson::dom::element doc;
  std::string_view user, password;
  if (parser_.parse(req.body().data(), req.body().size()).get(doc) || doc["username"].get(user) ||
      doc["password"].get(password)) {
    json_error(res, 400, R"(expected a JSON object {"username": string, "password": string})");
    return;
  }
  const SocketAddress client = req.remote_address();
  if (const unsigned wait = server_.throttle().take(client)) {
    // RFC 6585 §4: too many requests; Retry-After says when this address may try again.
    res.header("Retry-After", std::to_string(wait));
    json_error(res, 429, "too many failed logins from this address; try again later");
    return;
  }
  // The hash runs on a login thread; its answer comes back to this connection's shard. The job owns
  // copies of what it needs: the request's bytes are gone once this handler returns.
  const PendingResponse pending = res.defer();
  WorkerPool::Job job = [server = &server_, pending, client, user = std::string(user),
                         password = std::string(password)]() mutable {
    check_login(*server, pending, client, user, password);
    std::fill(password.begin(), password.end(), '\0');
  };
  if (!server_.logins().submit(std::move(job))) {
    server_.throttle().give_back(client);  // refused before any work: costs the address nothing
    pending.answer([](Response& r) {
      // RFC 9110 §15.6.4, §10.2.3: every login thread is busy and the queue is full.
      r.header("Cache-Control", "no-store").header("Retry-After", "1");
      json_error(r, 503, "too many logins at once; try again in a second");
    });
  }
}

namespace {

// The answer to a login whose password was right: 200 {"otp"}, or `failure` when no token was made.
void answer_token(const PendingResponse& pending, std::string token, int failure) {
  pending.answer([token = std::move(token), failure](Response& res) {
    res.header("Cache-Control", "no-store");
    std::string body;
    if (token.empty()) {
      JsonWriter(body).begin_object().key("error").value("no token could be made; try again").end_object();
      res.status(failure).json(body);
    } else {
      JsonWriter(body).begin_object().key("otp").value(token).end_object();
      res.json(body);
    }
  });
}

}  // namespace

void check_login(ChatServer& server, const PendingResponse& pending, const SocketAddress& client,
                 std::string_view user, std::string_view password) {
  // A login thread: what is touched here is thread-safe (users: read-only; tokens, throttle: locked).
  if (server.users().check(user, password)) {
    server.throttle().give_back(client);
    if (server.shared_tokens()) {  // kept in Redis, by the connection's shard
      ChatShard& shard = server.shard(pending.shard());
      shard.post([&shard, pending, user = std::string(user)] { shard.issue_shared_token(pending, user); });
      return;
    }
    answer_token(pending, server.otps().issue(user), 500);
    return;
  }
  std::string name;
  append_json_string(name, utf8_truncate(user, 64));  // quoted and escaped: one log line whatever the name
  log::info("login refused for {}", name);
  pending.answer([](Response& res) {
    std::string body;
    JsonWriter(body).begin_object().key("error").value("wrong username or password").end_object();
    // RFC 9110 §15.5.2: a 401 carries a challenge. The credentials go in the body, so name the
    // token this login hands out instead.
    res.header("Cache-Control", "no-store").header("WWW-Authenticate", R"(Bearer realm="ringcast-chat")");
    res.status(401).json(body);
  });
}

std::string ChatShard::token_key(std::string_view token) const {
  std::string key(server_.app().broker_prefix());
  key.append("otp:").append(token);
  return key;
}

void ChatShard::issue_shared_token(const PendingResponse& pending, const std::string& user) {
  // Every node redeems it: SET with the token's lifetime, NX so that a token is never given twice.
  RedisCluster* redis = server_.app().redis();
  std::string token = new_token();
  if (!redis || token.empty()) {
    answer_token(pending, {}, 503);
    return;
  }
  const std::string key = token_key(token);
  const std::string ttl = std::to_string(server_.options().otp_ttl.count());
  redis->command(key, {"SET", key, user, "PX", ttl, "NX"}, [pending, token = std::move(token)](const RedisReply& r) {
    const bool stored = r.ok() && r.value().type == RespType::simple;  // +OK; nil when the token existed
    if (!stored) log::warn("a login token could not be stored in Redis: {}", r.ok() ? "token taken" : r.error());
    answer_token(pending, stored ? token : std::string(), 503);
  });
}

bool ChatShard::origin_allowed(std::string_view origin) const noexcept {
  // RFC 6455 §10.2: the Origin header tells which page opens the socket. Clients that are not
  // browsers send none; the one-time token is what admits them.
  if (origin.empty()) return true;
  for (const std::string& o : origins_) {
    if (ascii_iequals(o, origin)) return true;
  }
  return false;
}

namespace {

// A whole number of query parameter `name`: nullopt when absent, false in `ok` when malformed.
std::optional<uint64_t> number_param(Request& req, std::string_view name, bool& ok) {
  const std::string text = req.query(name);
  if (text.empty()) return std::nullopt;
  uint64_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (error != std::errc() || end != text.data() + text.size()) ok = false;
  return n;
}

}  // namespace

void ChatShard::upgrade(Request& req, Upgrade<ChatClient>& up) {
  if (!origin_allowed(up.origin())) {
    up.reject(403, "Origin not allowed");
    return;
  }
  // The room to join and, for a page coming back, the last message it has of it.
  ChatClient client;
  client.room = req.query("room");
  if (client.room.empty()) client.room = kLobby;
  bool ok = valid_room_name(client.room);
  const std::optional<uint64_t> epoch = number_param(req, "epoch", ok), seq = number_param(req, "seq", ok);
  if (!ok || epoch.has_value() != seq.has_value() || epoch == uint64_t{0}) {
    up.reject(400, "room: 1 to 64 characters; epoch (from 1) and seq: whole numbers, given together");
    return;
  }
  if (epoch) client.since = Position{*epoch, *seq};
  static constexpr std::string_view kNoToken = "a fresh one-time token from POST /login is needed: /ws?otp=TOKEN";
  const std::string token = req.query("otp");
  if (server_.shared_tokens()) {
    // The token is in Redis, from whichever node logged the user in: taken (GETDEL) once, anywhere.
    RedisCluster* redis = server_.app().redis();
    if (token.size() != 32 || !redis) {
      up.reject(redis ? 401 : 503, std::string(kNoToken));
      return;
    }
    const std::string key = token_key(token);
    redis->command(key, {"GETDEL", key}, [pending = up.defer(), client = std::move(client)](const RedisReply& r) mutable {
      if (r.ok() && r.value().type == RespType::bulk) {
        client.user.assign(r.value().text);
        pending.accept(std::move(client));
      } else if (r.ok() && r.value().type == RespType::null) {
        pending.reject(401, std::string(kNoToken));
      } else {
        log::warn("a login token could not be read from Redis: {}", r.error());
        pending.reject(503, "the token store cannot be reached; try again");
      }
    });
    return;
  }
  std::optional<std::string> user = server_.otps().redeem(token);
  if (!user) {
    up.reject(401, std::string(kNoToken));
    return;
  }
  client.user = std::move(*user);
  up.accept(std::move(client));
}

}  // namespace ringcast::chat
