// http_routes: plain HTTP beside (or without) WebSockets: routes with parameters, a POST body, and a
// folder of static files under everything else.
//
//   build/examples/http_routes --port 8080 --root examples/public
//   curl http://127.0.0.1:8080/hello/world           # hello world
//   curl -d 'some bytes' http://127.0.0.1:8080/echo  # some bytes
//   curl -i http://127.0.0.1:8080/                   # examples/public/index.html, with ETag and Last-Modified
//
// The lesson: get/post/any with ":name" parameters and a "*" tail. Priority does not depend on the
// order routes are added: at each segment a literal beats a parameter, which beats a tail. A handler
// runs on the connection's shard and answers before it returns (send, json, file), or defers (see
// deferred_http.cpp). Every App also answers GET /health and GET /metrics.
#include <fmt/core.h>

#include <string>

#include <ringcast/core/cli.hpp>
#include <ringcast/net/http/static_files.hpp>
#include <ringcast/ws/app.hpp>

using namespace ringcast;

int main(int argc, char** argv) {
  Cli cli("http_routes", "HTTP routes with parameters, a POST body, and static files from a folder");
  auto& port = cli.flag("port", int64_t{8080}, "port to listen on (0: any free port)");
  auto& root = cli.flag("root", std::string("examples/public"), "the folder served under /");
  cli.example("http_routes --port 8080 --root examples/public");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  if (port < 0 || port > 65535) {
    fmt::print(stderr, "http_routes: --port is 0 to 65535\n");
    return 2;
  }
  // Only what lies under the root is served: no "..", no symlink out, no dotfiles (403 or 404).
  const StaticFiles files({.root = root});
  if (!files.ok()) {
    fmt::print(stderr, "http_routes: cannot open {}\n", root);
    return 2;
  }

  App app({.host = "127.0.0.1", .port = static_cast<uint16_t>(port)});
  app.get("/hello/:name", [](Request& req, Response& res) {
    res.send(fmt::format("hello {}\n", req.param("name")));  // parameters are undecoded views of the path
  });
  app.post("/echo", [](Request& req, Response& res) {
    res.header("Cache-Control", "no-store").send(req.body(), "application/octet-stream");
  }, 64 << 10);  // this route's body limit (larger: 413)
  app.get("/*", [&files](Request& req, Response& res) { res.file(files, req.tail(), req.http()); });
  return app.run();
}
