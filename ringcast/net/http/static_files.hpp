#pragma once
// StaticFiles: serves the files under one root directory, and nothing outside it.
//
// A URL path is resolved in two steps. First the text: percent-decoded (RFC 3986 §2.1); refused with
// 400 when an escape is malformed, with 403 when it holds an encoded '/' or '\' ("%2f", "%5c"), a
// backslash, a NUL or other control byte, or a "." or ".." segment; empty segments are dropped, and
// a segment starting with '.' (".git", ".env") is 404 unless allow_dotfiles. Then the file system:
// the relative path is opened under the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS),
// so no symlink or ".." can lead outside the root (403); on kernels without openat2 (before 5.6) the
// file is opened with openat and the path of the opened descriptor (/proc/self/fd) must lie under the
// root's real path. A directory serves its index.html. Only regular files are served (a FIFO or a
// device is 404; opening never blocks).
//
// Files are read whole into memory: at most `max_file_size` bytes (default 1 MiB); a larger file is
// answered 500, as it needs a streaming path this reader does not have. Responses carry Content-Type
// (mime_type_for), an ETag ("<size>-<mtime ns>", hex) and Last-Modified; If-None-Match and
// If-Modified-Since (RFC 9110 §13.1) give 304.
//
// Threads: immutable after construction; every shard may call it at once. It does blocking file I/O
// (open, fstat, pread) on the calling thread: meant for small files that live in the page cache.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include <ringcast/net/http/http_request.hpp>

namespace ringcast {

// The Content-Type for a file name, by extension (case-insensitive): html, css, js, mjs, json, svg,
// png, jpg, gif, webp, ico, wasm, txt, map, woff2 and a few more; "application/octet-stream" otherwise.
// Text types say charset=utf-8.
std::string_view mime_type_for(std::string_view path) noexcept;

struct StaticFilesOptions {
  std::string root;                 // the directory to serve
  size_t max_file_size = 1 << 20;   // larger files are refused (500)
  bool allow_dotfiles = false;      // serve segments starting with '.'
  bool use_openat2 = true;          // false: always openat + the /proc/self/fd check
};

// One file, read whole.
struct StaticFile {
  int status = 0;                  // 200, or the status to answer: 400, 403, 404, 500
  std::string body;                // status 200: the contents
  std::string_view content_type;   // status 200: from mime_type_for
  std::string etag;                // status 200: quoted, e.g. "\"1f4-17a2b3c4d5e6f700\""
  std::string last_modified;       // status 200: IMF-fixdate of the modification time
  std::time_t mtime = 0;
};

class StaticFiles {
 public:
  // Opens the root directory; ok() tells whether that worked.
  explicit StaticFiles(StaticFilesOptions options);
  ~StaticFiles();
  StaticFiles(StaticFiles&& other) noexcept;
  StaticFiles& operator=(StaticFiles&& other) noexcept;
  StaticFiles(const StaticFiles&) = delete;
  StaticFiles& operator=(const StaticFiles&) = delete;

  bool ok() const noexcept { return root_fd_ >= 0; }
  const StaticFilesOptions& options() const noexcept { return options_; }

  // Reads the file for `url_path` (undecoded, relative to the root: a request path or a router tail;
  // leading slashes are ignored) into `out`. Returns out.status.
  int read(std::string_view url_path, StaticFile& out) const;

  // Appends the whole response for `request` to `out`: 200 with the file (read straight into `out`;
  // no body for HEAD), 304 when the client's copy is current, 405 (Allow: GET, HEAD) for other
  // methods, or the error with a short text body. `url_path` as for read(); `date`, when not empty, is
  // sent as the Date header. Returns the status written.
  int serve(const HttpRequest& request, std::string_view url_path, std::string& out,
            std::string_view date = {}) const;

 private:
  struct Opened;
  int open(std::string_view url_path, Opened& file) const;

  StaticFilesOptions options_;
  std::string root_real_;  // realpath of the root, for the check without openat2
  int root_fd_ = -1;       // O_PATH descriptor of the root
};

}  // namespace ringcast
