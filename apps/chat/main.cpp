// ringcast-chat: a multi-room chat server with its page — the project's main program.
//
//   ringcast-chat                          serve on http://127.0.0.1:8080/ (demo users alice, bob)
//   ringcast-chat --users users.txt        accounts from a file
//   ringcast-chat adduser users.txt carol  add or change an account (asks for the password twice)
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/chat/chat_server.hpp"
#include "apps/chat/password_hash.hpp"
#include "apps/chat/user_store.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/core/log.hpp>
#include <ringcast/ws/app_flags.hpp>

namespace {

using namespace ringcast;
using namespace ringcast::chat;

// Used when --users is not given: alice and bob, password "secret" (hashed, like any users file).
constexpr std::string_view kDemoUsers =
    "alice:$scrypt$ln=15,r=8,p=1$5ISq2A9B2HM/+48h5j2iYw$OdIbQcls8SUCVUdR6JQyYx0qoyQj2L8a3Rk3pzDU050\n"
    "bob:$scrypt$ln=15,r=8,p=1$IYKMAWJow8E+w0QOJnwCGA$S6NBKjDH8pEwMJfrPbefOv1hQhrtBlQtlP3rmVw8/jk\n";

// The terminal's echo is off while a password is typed; a signal then must not leave it off.
termios g_saved_termios;
volatile sig_atomic_t g_echo_off = 0;

void restore_echo_and_reraise(int sig) {
  if (g_echo_off) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// One line from standard input; on a terminal, with echo off. False at end of input.
bool read_password(const char* prompt, std::string& out) {
  if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &g_saved_termios) == 0) {
    termios quiet = g_saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    std::signal(SIGINT, restore_echo_and_reraise);
    std::signal(SIGTERM, restore_echo_and_reraise);
    g_echo_off = 1;
    // Echo goes off before the prompt appears (and what was typed ahead is dropped), so nothing
    // typed after the prompt is ever shown.
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::fputs(prompt, stderr);
    std::fflush(stderr);
  }
  const bool ok = static_cast<bool>(std::getline(std::cin, out));
  if (g_echo_off) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    g_echo_off = 0;
  }
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return ok;
}

// ringcast-chat adduser FILE NAME: sets NAME's password in FILE (created when missing, mode 0600),
// replacing its line or appending one. The file is rewritten through a temporary and a rename.
int add_user(const std::string& path, const std::string& name) {
  if (!valid_user_name(name)) {
    fmt::print(stderr, "ringcast-chat adduser: '{}' is not a user name (1 to {} characters of A-Z a-z 0-9 . _ -)\n",
               name, kMaxUserName);
    return 2;
  }
  std::string text;
  if (std::ifstream in(path, std::ios::binary); in) {
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
    UserStore check;
    std::string error;
    if (!check.load(text, error)) {
      fmt::print(stderr, "ringcast-chat adduser: {}: {}\n", path, error);
      return 1;
    }
  }
  std::string password, again;
  if (!read_password(fmt::format("Password for {}: ", name).c_str(), password) ||
      !read_password("Same password again: ", again)) {
    fmt::print(stderr, "ringcast-chat adduser: no password given\n");
    return 1;
  }
  if (password.empty() || password != again) {
    fmt::print(stderr, "ringcast-chat adduser: {}\n", password.empty() ? "the password is empty" : "the passwords differ");
    return 1;
  }
  const std::optional<std::string> hash = hash_password(password);
  std::fill(password.begin(), password.end(), '\0');
  std::fill(again.begin(), again.end(), '\0');
  if (!hash) {
    fmt::print(stderr, "ringcast-chat adduser: hashing failed (OpenSSL)\n");
    return 1;
  }
  const std::string updated = set_user_line(text, name, *hash);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < updated.size();) {
    const ssize_t n = ::write(fd, updated.data() + done, updated.size() - done);
    ok = n > 0;
    done += ok ? static_cast<size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::perror(("ringcast-chat adduser: " + path).c_str());
    ::unlink(tmp.c_str());
    return 1;
  }
  fmt::print(stderr, "{} {} in {}\n", text.find(name + ":") == 0 || text.find("\n" + name + ":") != std::string::npos
                                          ? "changed the password of" : "added", name, path);
  return 0;
}

// --allow-origin may be given several times, each a comma list.
std::vector<std::string> all_origins(int argc, char** argv) {
  std::vector<std::string> out;
  auto add_list = [&out](std::string_view list) {
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view o = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      while (!o.empty() && o.front() == ' ') o.remove_prefix(1);
      while (!o.empty() && (o.back() == ' ' || o.back() == '/')) o.remove_suffix(1);
      if (!o.empty()) out.emplace_back(o);
    }
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--allow-origin" && i + 1 < argc) {
      add_list(argv[++i]);
    } else if (arg.substr(0, 15) == "--allow-origin=") {
      add_list(arg.substr(15));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("ringcast-chat",
          "a multi-room chat server and its page: log in, chat in rooms, see who is there. Every core serves "
          "connections; each room is kept by one of them");
  // Loopback by default: the embedded demo users have a published password.
  const AppFlags flags = AppFlags::declare(cli, 8080, "127.0.0.1");
  auto& users_file = cli.flag("users", std::string(),
                              "users file, one NAME:HASH per line (write it with the adduser command); "
                              "empty: demo users alice and bob, password secret");
  auto& origins = cli.flag("allow-origin", std::string(),
                           "origins allowed to open the WebSocket, a comma list, repeatable (e.g. "
                           "https://chat.example.com); empty: http(s)://localhost:PORT, http(s)://127.0.0.1:PORT "
                           "and http(s)://HOST:PORT");
  auto& web = cli.flag("web", std::string(), "serve the page from DIR/index.html instead of the compiled-in copy");
  auto& max_message = cli.flag("max-message", int64_t{4096}, "largest WebSocket message in bytes, up to 1 MiB (larger: close 1009)");
  auto& history = cli.flag("history", int64_t{1000},
                           "messages each room keeps, 50 to 100000: a tab that was away recovers what it missed from "
                           "its position while the room still has it (a fresh tab gets the last 50)");
  auto& ping_interval = cli.flag("ping-interval", 10.0, "seconds between pings to each client (0: none)");
  auto& pong_timeout = cli.flag("pong-timeout", 10.0, "seconds to wait for a pong before dropping the client");
  auto& login_threads = cli.flag("login-threads", int64_t{1},
                                 "threads that check passwords, off the shards (each check: scrypt, 32 MiB, about "
                                 "0.1 s of a core); 1 to 64");
  auto& login_queue = cli.flag("login-queue", int64_t{64},
                               "logins that may wait for a login thread; more at once get 503 with Retry-After: 1");
  auto& login_failures = cli.flag("login-failures", int64_t{10},
                                  "failed logins one client address may make in a burst, then one more every 6 s "
                                  "(429 with Retry-After meanwhile); 0: no limit");
  const BrokerFlags broker = BrokerFlags::declare(
      cli, "redis[s]://[USER:PASSWORD@]HOST[:PORT][/PREFIX] (docs/redis.md; a Redis Cluster by any of its nodes): one chat "
           "across every ringcast-chat node on it — rooms in one order with their history, presence and login tokens "
           "live in Redis (docs/cluster.md); empty: this process alone");
  cli.example("ringcast-chat                                   # then open http://127.0.0.1:8080/");
  cli.example("ringcast-chat --port 9000 --shards 4 --users users.txt");
  cli.example("ringcast-chat --host 0.0.0.0 --allow-origin http://chat.example.com:8080");
  cli.example("ringcast-chat --login-threads 2 --login-queue 128  # more logins at once, two cores hashing");
  cli.example("ringcast-chat --port 8081 --broker redis://127.0.0.1:6379/chat/   # a second node");
  cli.example("ringcast-chat adduser users.txt carol           # asks for carol's password twice");
  cli.epilog(
      "Commands: `adduser FILE NAME` sets NAME's password in FILE (scrypt, ln=15 r=8 p=1; the file is created "
      "with mode 0600 when missing).\n"
      "HTTP: GET / (the page), POST /login {\"username\",\"password\"} → {\"otp\"} (single use, 5 s; 401 wrong "
      "credentials, 429 too many failures from the address, 503 login threads busy), "
      "GET /ws?otp=TOKEN (the WebSocket), GET /health, GET /metrics.\n"
      "Stops gracefully on SIGINT/SIGTERM: every client gets close 1001, exit status 0.");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  const auto& positional = cli.positional();
  if (!positional.empty()) {
    if (positional[0] == "adduser" && positional.size() == 3) return add_user(positional[1], positional[2]);
    fmt::print(stderr, "ringcast-chat: expected `adduser FILE NAME` or flags only (see --help)\n");
    return 2;
  }
  (void)origins;  // read from argv by all_origins, which keeps every occurrence

  AppOptions app_options;
  std::string error;
  if (!flags.apply(app_options, error) || !broker.apply(app_options, error)) {
    fmt::print(stderr, "ringcast-chat: {}\n", error);
    return 2;
  }
  if (max_message < 64 || max_message > (1 << 20) || ping_interval < 0 || pong_timeout < 0) {
    fmt::print(stderr, "ringcast-chat: --max-message must be 64 to 1048576, and the timeouts not negative\n");
    return 2;
  }
  if (history < kTail || history > 100'000) {
    fmt::print(stderr, "ringcast-chat: --history must be {} to 100000\n", kTail);
    return 2;
  }
  if (login_threads < 1 || login_threads > 64 || login_queue < 1 || login_queue > 1'000'000 || login_failures < 0 ||
      login_failures > 1'000'000) {
    fmt::print(stderr, "ringcast-chat: --login-threads must be 1 to 64, --login-queue 1 to 1000000, "
                       "--login-failures 0 to 1000000\n");
    return 2;
  }
  UserStore users;
  const bool demo = users_file.empty();
  if (demo ? !users.load(kDemoUsers, error) : !users.load_file(users_file, error)) {
    fmt::print(stderr, "ringcast-chat: {}\n", error);
    return 2;
  }
  if (demo && flags.server.host != "127.0.0.1" && flags.server.host != "::1") {
    log::warn("the demo users (password \"secret\") on {}: anyone who can reach this port can log in; give "
              "--users FILE, or --host 127.0.0.1", flags.server.host);
  }
  if (users.size() == 0) log::warn("no users: nobody can log in (add one with `ringcast-chat adduser FILE NAME`)");

  ChatOptions options;
  options.max_message = static_cast<size_t>(max_message);
  options.history = static_cast<uint32_t>(history);
  options.ping_interval = std::chrono::milliseconds(static_cast<int64_t>(ping_interval * 1000));
  options.pong_timeout = std::chrono::milliseconds(static_cast<int64_t>(pong_timeout * 1000));
  options.allowed_origins = all_origins(argc, argv);
  options.web_root = web;
  options.login_threads = static_cast<unsigned>(login_threads);
  options.login_queue = static_cast<size_t>(login_queue);
  options.login_failures = static_cast<unsigned>(login_failures);
  try {
    ChatServer server(
        app_options, std::move(options), std::move(users));
    return server.run([&](uint16_t port) {
      fmt::print("open {} in a browser{}\n", page_url(flags.server.host, port, app_options.loop.tls != nullptr),
                 demo ? "; demo users alice and bob, password secret" : "");
      std::fflush(stdout);
    });
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
