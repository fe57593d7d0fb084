#include <ringcast/net/http/static_files.hpp>

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <ringcast/net/http/detail/http_parser.hpp>
#include <ringcast/net/http/http_response.hpp>

using namespace ringcast;
namespace fs = std::filesystem;

namespace {

// A temporary tree:
//   <tmp>/outside.txt                 a file next to the root, never to be served
//   <tmp>/root/index.html, style.css, app.mjs, .secret, big.bin, fifo
//   <tmp>/root/sub/index.html, "a b.txt", empty/ (a directory without index.html)
//   <tmp>/root/inside  -> style.css   (relative symlink inside the root: allowed)
//   <tmp>/root/outside -> ../outside.txt, abs -> /etc/passwd, up -> ..   (escapes: refused)
class Tree {
 public:
  Tree() {
    std::string tmpl = (fs::temp_directory_path() / "ringcast-static-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub" / "empty");
    write(base_ / "outside.txt", "secret outside");
    write(root_ / "index.html", "<h1>home</h1>");
    write(root_ / "style.css", "body{}");
    write(root_ / "app.mjs", "export {}");
    write(root_ / ".secret", "dotfile");
    write(root_ / "big.bin", std::string(2048, 'b'));
    write(root_ / "sub" / "index.html", "<h1>sub</h1>");
    write(root_ / "sub" / "a b.txt", "spaced");
    REQUIRE(::mkfifo((root_ / "fifo").c_str(), 0600) == 0);
    fs::create_symlink("style.css", root_ / "inside");
    fs::create_symlink("../outside.txt", root_ / "outside");
    fs::create_symlink("/etc/passwd", root_ / "abs");
    fs::create_symlink("..", root_ / "up");
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  std::string root() const { return root_.string(); }

 private:
  static void write(const fs::path& p, const std::string& content) {
    std::ofstream f(p, std::ios::binary);
    f << content;
  }

  fs::path base_;
  fs::path root_;
};

// Parses a request head kept in `storage`.
HttpRequest request(const std::string& storage) {
  HttpRequest r;
  HttpParser parser;
  REQUIRE(parser.parse(storage, r).status == ParseStatus::complete);
  return r;
}

}  // namespace

TEST_CASE("MIME types follow the file extension, case-insensitively") {
  CHECK(mime_type_for("index.html") == "text/html; charset=utf-8");
  CHECK(mime_type_for("/a/b/INDEX.HTM") == "text/html; charset=utf-8");
  CHECK(mime_type_for("site.css") == "text/css; charset=utf-8");
  CHECK(mime_type_for("app.js") == "text/javascript; charset=utf-8");
  CHECK(mime_type_for("mod.mjs") == "text/javascript; charset=utf-8");
  CHECK(mime_type_for("data.json") == "application/json");
  CHECK(mime_type_for("logo.svg") == "image/svg+xml");
  CHECK(mime_type_for("a.png") == "image/png");
  CHECK(mime_type_for("a.jpg") == "image/jpeg");
  CHECK(mime_type_for("a.jpeg") == "image/jpeg");
  CHECK(mime_type_for("a.gif") == "image/gif");
  CHECK(mime_type_for("a.webp") == "image/webp");
  CHECK(mime_type_for("favicon.ico") == "image/x-icon");
  CHECK(mime_type_for("m.wasm") == "application/wasm");
  CHECK(mime_type_for("notes.txt") == "text/plain; charset=utf-8");
  CHECK(mime_type_for("app.js.map") == "application/json");
  CHECK(mime_type_for("font.woff2") == "font/woff2");
  CHECK(mime_type_for("README") == "application/octet-stream");
  CHECK(mime_type_for("archive.tar.zst") == "application/octet-stream");
  CHECK(mime_type_for("dir.d/file") == "application/octet-stream");
}

TEST_CASE("a missing root is reported") {
  StaticFiles files({.root = "/nonexistent/ringcast-root"});
  CHECK_FALSE(files.ok());
  StaticFile f;
  CHECK(files.read("/index.html", f) == 500);
}

TEST_CASE("files under the root are read with type, ETag and Last-Modified") {
  Tree tree;
  for (const bool openat2 : {true, false}) {
    CAPTURE(openat2);
    StaticFiles files({.root = tree.root(), .max_file_size = 1024, .use_openat2 = openat2});
    REQUIRE(files.ok());
    StaticFile f;
    REQUIRE(files.read("/style.css", f) == 200);
    CHECK(f.body == "body{}");
    CHECK(f.content_type == "text/css; charset=utf-8");
    CHECK(f.etag.size() > 4);
    CHECK(f.etag.front() == '"');
    CHECK(f.etag.back() == '"');
    CHECK(f.last_modified.size() == kHttpDateSize);
    CHECK(f.last_modified.substr(26) == "GMT");

    CHECK(files.read("app.mjs", f) == 200);  // a router tail has no leading slash
    CHECK(f.content_type == "text/javascript; charset=utf-8");
    CHECK(files.read("/sub/a%20b.txt", f) == 200);
    CHECK(f.body == "spaced");
    CHECK(files.read("/inside", f) == 200);  // a symlink that stays inside
    CHECK(f.body == "body{}");
    CHECK(files.read("//sub///index.html", f) == 200);  // empty segments are dropped
    CHECK(f.body == "<h1>sub</h1>");
  }
}

TEST_CASE("a directory serves its index.html") {
  Tree tree;
  StaticFiles files({.root = tree.root()});
  StaticFile f;
  REQUIRE(files.read("/", f) == 200);
  CHECK(f.body == "<h1>home</h1>");
  CHECK(f.content_type == "text/html; charset=utf-8");
  REQUIRE(files.read("", f) == 200);
  CHECK(f.body == "<h1>home</h1>");
  REQUIRE(files.read("/sub", f) == 200);
  CHECK(f.body == "<h1>sub</h1>");
  REQUIRE(files.read("/sub/", f) == 200);
  CHECK(f.body == "<h1>sub</h1>");
  CHECK(files.read("/sub/empty/", f) == 404);
  CHECK(files.read("/sub/empty", f) == 404);
}

TEST_CASE("path traversal in every spelling is refused") {
  Tree tree;
  for (const bool openat2 : {true, false}) {
    CAPTURE(openat2);
    StaticFiles files({.root = tree.root(), .use_openat2 = openat2});
    StaticFile f;
    CHECK(files.read("/../outside.txt", f) == 403);
    CHECK(files.read("/sub/../../outside.txt", f) == 403);
    CHECK(files.read("/%2e%2e/outside.txt", f) == 403);
    CHECK(files.read("/%2E%2E/outside.txt", f) == 403);
    CHECK(files.read("/.%2e/outside.txt", f) == 403);
    CHECK(files.read("/sub/..%2f..%2foutside.txt", f) == 403);
    CHECK(files.read("/sub%2F..%2F..%2Foutside.txt", f) == 403);
    CHECK(files.read("/..%5coutside.txt", f) == 403);
    CHECK(files.read("/..\\outside.txt", f) == 403);
    CHECK(files.read("/./index.html", f) == 403);
    CHECK(files.read("/index.html%00.txt", f) == 403);
    CHECK(files.read("/index.html%0a", f) == 403);
    CHECK(files.read("/outside", f) == 403);          // relative symlink out of the root
    CHECK(files.read("/abs", f) == 403);              // absolute symlink
    CHECK(files.read("/up/outside.txt", f) == 403);   // symlink to the parent directory
    CHECK(files.read("//etc/passwd", f) == 404);      // stays under the root: root/etc/passwd
    CHECK(f.body.empty());
  }
}

TEST_CASE("malformed escapes are 400; dotfiles, missing files and special files are 404") {
  Tree tree;
  StaticFiles files({.root = tree.root()});
  StaticFile f;
  CHECK(files.read("/%zz", f) == 400);
  CHECK(files.read("/index.html%", f) == 400);
  CHECK(files.read("/.secret", f) == 404);
  CHECK(files.read("/sub/.hidden/x", f) == 404);
  CHECK(files.read("/missing.html", f) == 404);
  CHECK(files.read("/index.html/x", f) == 404);
  CHECK(files.read("/fifo", f) == 404);  // and opening it did not block
  CHECK(files.read("/" + std::string(5000, 'a'), f) == 404);

  StaticFiles dotted({.root = tree.root(), .allow_dotfiles = true});
  CHECK(dotted.read("/.secret", f) == 200);
  CHECK(f.body == "dotfile");
  CHECK(dotted.read("/../outside.txt", f) == 403);  // still no traversal
}

TEST_CASE("a file over the size limit is refused; at the limit it is served") {
  Tree tree;
  StaticFile f;
  CHECK(StaticFiles({.root = tree.root(), .max_file_size = 2047}).read("/big.bin", f) == 500);
  CHECK(StaticFiles({.root = tree.root(), .max_file_size = 2048}).read("/big.bin", f) == 200);
  CHECK(f.body.size() == 2048);
  CHECK(f.content_type == "application/octet-stream");
}

TEST_CASE("serve writes a complete 200 response, and HEAD gets the head only") {
  Tree tree;
  StaticFiles files({.root = tree.root()});
  const std::string get = "GET /style.css HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string out;
  CHECK(files.serve(request(get), "/style.css", out, "Sun, 06 Nov 1994 08:49:37 GMT") == 200);
  CHECK(out.substr(0, 17) == "HTTP/1.1 200 OK\r\n");
  CHECK(out.find("Content-Type: text/css; charset=utf-8\r\n") != std::string::npos);
  CHECK(out.find("Content-Length: 6\r\n") != std::string::npos);
  CHECK(out.find("ETag: \"") != std::string::npos);
  CHECK(out.find("Last-Modified: ") != std::string::npos);
  CHECK(out.find("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") != std::string::npos);
  CHECK(out.find("Connection:") == std::string::npos);
  CHECK(out.size() > 6);
  CHECK(out.substr(out.size() - 10) == "\r\n\r\nbody{}");

  const std::string head = "HEAD /style.css HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string head_out;
  CHECK(files.serve(request(head), "/style.css", head_out) == 200);
  CHECK(head_out.find("Content-Length: 6\r\n") != std::string::npos);
  CHECK(head_out.substr(head_out.size() - 4) == "\r\n\r\n");
}

TEST_CASE("serve answers 304 to a matching If-None-Match or a current If-Modified-Since") {
  Tree tree;
  StaticFiles files({.root = tree.root()});
  StaticFile f;
  REQUIRE(files.read("/index.html", f) == 200);
  std::string out;

  const std::string inm = "GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\", W/" + f.etag + "\r\n\r\n";
  CHECK(files.serve(request(inm), "/", out) == 304);
  CHECK(out.substr(0, 25) == "HTTP/1.1 304 Not Modified");
  CHECK(out.find("ETag: " + f.etag) != std::string::npos);
  CHECK(out.find("Content-Length") == std::string::npos);

  out.clear();
  const std::string other = "GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\n\r\n";
  CHECK(files.serve(request(other), "/", out) == 200);

  out.clear();
  const std::string ims = "GET / HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: " + f.last_modified + "\r\n\r\n";
  CHECK(files.serve(request(ims), "/", out) == 304);

  out.clear();
  const std::string old = "GET / HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
  CHECK(files.serve(request(old), "/", out) == 200);

  out.clear();  // If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3)
  const std::string both =
      "GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\nIf-Modified-Since: " + f.last_modified + "\r\n\r\n";
  CHECK(files.serve(request(both), "/", out) == 200);
}

TEST_CASE("serve answers errors and other methods with a complete response") {
  Tree tree;
  StaticFiles files({.root = tree.root()});
  std::string out;
  const std::string missing = "GET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  CHECK(files.serve(request(missing), "/nope", out) == 404);
  CHECK(out ==
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n"
        "Connection: close\r\n\r\nNot Found");
  out.clear();
  const std::string traversal = "GET /%2e%2e/outside.txt HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(files.serve(request(traversal), "/%2e%2e/outside.txt", out) == 403);
  CHECK(out.find("secret") == std::string::npos);
  out.clear();
  const std::string post = "POST /style.css HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n";
  CHECK(files.serve(request(post), "/style.css", out) == 405);
  CHECK(out.find("Allow: GET, HEAD\r\n") != std::string::npos);
}

TEST_CASE("an HTTP/1.0 client that asked to stay open is told so") {
  Tree tree;
  StaticFiles files({.root = tree.root()});
  std::string out;
  const std::string ka = "GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  CHECK(files.serve(request(ka), "/style.css", out) == 200);
  CHECK(out.find("Connection: keep-alive\r\n") != std::string::npos);
  out.clear();
  const std::string plain = "GET /style.css HTTP/1.0\r\n\r\n";
  CHECK(files.serve(request(plain), "/style.css", out) == 200);
  CHECK(out.find("Connection: close\r\n") != std::string::npos);
}
