#include <ringcast/net/http/static_files.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <ringcast/net/http/http_response.hpp>

namespace ringcast {

namespace {

constexpr size_t kMaxPath = PATH_MAX;
constexpr std::string_view kIndex = "index.html";
constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;  // a FIFO must not block open

// Set once openat2 says ENOSYS (kernel before 5.6), so later opens go straight to the fallback.
std::atomic<bool> g_no_openat2{false};

struct MimeEntry {
  std::string_view extension;
  std::string_view type;
};

constexpr MimeEntry kMimeTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},  // RFC 9239
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},  // source maps are JSON
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"wasm", "application/wasm"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"pdf", "application/pdf"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"ttf", "font/ttf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
};

int status_for_errno(int err) noexcept {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG: return 404;
    case EXDEV:   // RESOLVE_BENEATH: the path would leave the root
    case ELOOP:
    case EACCES:
    case EPERM: return 403;
    default: return 500;
  }
}

// True when `path` is `root` or lies below it (both absolute, without trailing slash unless "/").
bool is_beneath(std::string_view path, std::string_view root) noexcept {
  if (root == "/") return !path.empty() && path[0] == '/';
  return path.substr(0, root.size()) == root && (path.size() == root.size() || path[root.size()] == '/');
}

// openat + a check of where the descriptor really points: for kernels without openat2.
int open_checked(int root_fd, const char* rel, const std::string& root_real) noexcept {
  const int fd = ::openat(root_fd, rel, kOpenFlags);
  if (fd < 0) return -errno;
  std::array<char, 32> link{};
  std::snprintf(link.data(), link.size(), "/proc/self/fd/%d", fd);
  std::array<char, kMaxPath + 1> real{};
  const ssize_t len = ::readlink(link.data(), real.data(), real.size() - 1);
  bool inside = false;
  if (len > 0) {
    inside = is_beneath(std::string_view(real.data(), size_t(len)), root_real);
  } else {
    // No /proc: resolve the name instead (racy against a concurrent rename, but still refuses every
    // symlink that points outside).
    const std::string full = root_real + "/" + rel;
    if (::realpath(full.c_str(), real.data()) != nullptr) inside = is_beneath(real.data(), root_real);
  }
  if (!inside) {
    ::close(fd);
    return -EXDEV;
  }
  return fd;
}

int open_beneath(int root_fd, const char* rel, const std::string& root_real, bool use_openat2) noexcept {
#ifdef SYS_openat2
  if (use_openat2 && !g_no_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = kOpenFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    if (fd >= 0) return int(fd);
    const int err = errno;
    if (err == ENOSYS) g_no_openat2.store(true, std::memory_order_relaxed);
    // EPERM here comes from a seccomp filter that does not know openat2; the fallback tells.
    if (err != ENOSYS && err != EPERM) return -err;
  }
#else
  (void)use_openat2;
#endif
  return open_checked(root_fd, rel, root_real);
}

bool read_all(int fd, char* out, size_t size) noexcept {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, size - done, off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // error, or the file shrank under us
    done += size_t(n);
  }
  return true;
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7). The two obsolete forms are not
// parsed: an If-Modified-Since in them is ignored, which only costs a full response.
bool parse_imf_fixdate(std::string_view s, std::time_t& out) noexcept {
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (s.size() != kHttpDateSize || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT") {
    return false;
  }
  auto num = [&](size_t at, size_t len, int& v) {
    v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  std::tm tm{};
  int year = 0;
  const size_t month = kMonths.find(s.substr(8, 3));
  if (month == std::string_view::npos || month % 3 != 0) return false;
  if (!num(5, 2, tm.tm_mday) || !num(12, 4, year) || !num(17, 2, tm.tm_hour) || !num(20, 2, tm.tm_min) ||
      !num(23, 2, tm.tm_sec)) {
    return false;
  }
  tm.tm_mon = int(month / 3);
  tm.tm_year = year - 1900;
  out = ::timegm(&tm);
  return out != std::time_t(-1);
}

// RFC 9110 §13.1.2 (If-None-Match, weak comparison) and §13.1.3 (If-Modified-Since, only without
// If-None-Match): true when the client's copy is current.
bool not_modified(const HttpRequest& request, std::string_view etag, std::time_t mtime) noexcept {
  if (const HttpHeader* h = request.find_header("if-none-match")) {
    std::string_view list = h->value;
    if (trim_ows(list) == "*") return true;
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string_view tag = trim_ows(list.substr(0, comma));
      if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
      if (tag == etag) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    return false;
  }
  if (const HttpHeader* h = request.find_header("if-modified-since")) {
    std::time_t since = 0;
    if (parse_imf_fixdate(h->value, since)) return mtime <= since;
  }
  return false;
}

}  // namespace

std::string_view mime_type_for(std::string_view path) noexcept {
  const size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  const size_t dot = path.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string_view ext = path.substr(dot + 1);
  for (const MimeEntry& m : kMimeTypes) {
    if (ascii_iequals(ext, m.extension)) return m.type;
  }
  return "application/octet-stream";
}

struct StaticFiles::Opened {
  Opened() = default;
  Opened(const Opened&) = delete;
  Opened& operator=(const Opened&) = delete;
  ~Opened() {
    if (fd >= 0) ::close(fd);
  }

  int fd = -1;
  struct stat st {};
  std::string_view content_type;
  std::array<char, 48> etag{};  // "\"" 16 hex "-" 16 hex "\""
  size_t etag_size = 0;
  std::array<char, kHttpDateSize> last_modified{};

  std::string_view etag_view() const noexcept { return {etag.data(), etag_size}; }
  std::string_view last_modified_view() const noexcept { return {last_modified.data(), last_modified.size()}; }
};

StaticFiles::StaticFiles(StaticFilesOptions options) : options_(std::move(options)) {
  root_fd_ = ::open(options_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  std::array<char, kMaxPath + 1> real{};
  if (root_fd_ >= 0 && ::realpath(options_.root.c_str(), real.data()) != nullptr) {
    root_real_ = real.data();
  } else if (root_fd_ >= 0) {
    ::close(root_fd_);
    root_fd_ = -1;
  }
}

StaticFiles::~StaticFiles() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

StaticFiles::StaticFiles(StaticFiles&& other) noexcept
    : options_(std::move(other.options_)), root_real_(std::move(other.root_real_)),
      root_fd_(std::exchange(other.root_fd_, -1)) {}

StaticFiles& StaticFiles::operator=(StaticFiles&& other) noexcept {
  if (this != &other) {
    if (root_fd_ >= 0) ::close(root_fd_);
    options_ = std::move(other.options_);
    root_real_ = std::move(other.root_real_);
    root_fd_ = std::exchange(other.root_fd_, -1);
  }
  return *this;
}

int StaticFiles::open(std::string_view url_path, Opened& file) const {
  if (root_fd_ < 0) return 500;
  while (!url_path.empty() && url_path.front() == '/') url_path.remove_prefix(1);
  if (url_path.size() > kMaxPath) return 404;
  // An encoded separator would turn one segment into two after decoding: refuse it outright.
  for (size_t i = 0; i + 2 < url_path.size(); ++i) {
    if (url_path[i] != '%') continue;
    const char hi = url_path[i + 1], lo = char(url_path[i + 2] | 0x20);
    if ((hi == '2' && lo == 'f') || (hi == '5' && lo == 'c')) return 403;
  }
  std::array<char, kMaxPath> decoded{};
  const auto decoded_size = percent_decode(url_path, decoded.data(), false);
  if (!decoded_size) return 400;
  const std::string_view path(decoded.data(), *decoded_size);
  for (const char c : path) {
    const auto u = uint8_t(c);
    if (u < 0x20 || u == 0x7f || c == '\\') return 403;  // NUL and other controls, Windows separators
  }

  // Rebuild the path from its segments: no empty, "." or ".." segment reaches the file system.
  std::array<char, kMaxPath + kIndex.size() + 2> rel{};
  size_t n = 0;
  for (size_t pos = 0; pos <= path.size();) {
    const size_t stop = std::min(path.find('/', pos), path.size());
    const std::string_view seg = path.substr(pos, stop - pos);
    pos = stop + 1;
    if (seg.empty()) continue;
    if (seg == "." || seg == "..") return 403;
    if (seg[0] == '.' && !options_.allow_dotfiles) return 404;
    if (n != 0) rel[n++] = '/';
    std::memcpy(rel.data() + n, seg.data(), seg.size());
    n += seg.size();
  }
  auto append_index = [&] {
    if (n != 0) rel[n++] = '/';
    std::memcpy(rel.data() + n, kIndex.data(), kIndex.size());
    n += kIndex.size();
    rel[n] = '\0';
  };
  bool index = n == 0 || path.back() == '/';
  if (index) {
    append_index();
  } else {
    rel[n] = '\0';
  }

  for (;;) {
    const int fd = open_beneath(root_fd_, rel.data(), root_real_, options_.use_openat2);
    if (fd < 0) return status_for_errno(-fd);
    file.fd = fd;
    if (::fstat(fd, &file.st) != 0) return 500;
    if (S_ISDIR(file.st.st_mode) && !index) {
      ::close(file.fd);
      file.fd = -1;
      append_index();
      index = true;
      continue;
    }
    break;
  }
  if (!S_ISREG(file.st.st_mode)) return 404;
  if (uint64_t(file.st.st_size) > options_.max_file_size) return 500;

  file.content_type = mime_type_for(std::string_view(rel.data(), n));
  const uint64_t mtime_ns = uint64_t(file.st.st_mtim.tv_sec) * 1000000000u + uint64_t(file.st.st_mtim.tv_nsec);
  file.etag_size = size_t(std::snprintf(file.etag.data(), file.etag.size(), "\"%llx-%llx\"",
                                        static_cast<unsigned long long>(file.st.st_size),
                                        static_cast<unsigned long long>(mtime_ns)));
  format_http_date(file.st.st_mtim.tv_sec, file.last_modified);
  return 200;
}

int StaticFiles::read(std::string_view url_path, StaticFile& out) const {
  Opened file;
  out = StaticFile{};
  out.status = open(url_path, file);
  if (out.status != 200) return out.status;
  out.body.resize(size_t(file.st.st_size));
  if (!read_all(file.fd, out.body.data(), out.body.size())) {
    out = StaticFile{};
    out.status = 500;
    return 500;
  }
  out.content_type = file.content_type;
  out.etag = file.etag_view();
  out.last_modified = file.last_modified_view();
  out.mtime = file.st.st_mtim.tv_sec;
  return 200;
}

int StaticFiles::serve(const HttpRequest& request, std::string_view url_path, std::string& out,
                       std::string_view date) const {
  const bool keep = request.keep_alive();
  const bool head = request.method_id() == HttpMethod::head;
  auto prepare = [&](HttpResponse& r) {
    r.keep_alive(keep).date(date).head_only(head);
    // RFC 9112 §9.3: an HTTP/1.0 client keeps the connection only when told so.
    if (keep && request.version() == HttpVersion::http10) r.add_header("Connection", "keep-alive");
  };
  auto write_error = [&](int status) {
    HttpResponse r(status);
    r.add_header("Content-Type", "text/plain; charset=utf-8");
    r.body(http_reason_phrase(status));
    prepare(r);
    r.serialize(out);
    return status;
  };
  if (request.method_id() != HttpMethod::get && !head) {
    write_method_not_allowed(out, http_method_bit(HttpMethod::get) | http_method_bit(HttpMethod::head), keep);
    return 405;
  }
  Opened file;
  if (const int status = open(url_path, file); status != 200) return write_error(status);

  if (not_modified(request, file.etag_view(), file.st.st_mtim.tv_sec)) {
    HttpResponse r(304);
    r.add_header("ETag", file.etag_view());
    r.add_header("Last-Modified", file.last_modified_view());
    prepare(r);
    r.serialize(out);
    return 304;
  }
  const auto size = size_t(file.st.st_size);
  HttpResponse r(200);
  r.add_header("Content-Type", file.content_type);
  r.add_header("ETag", file.etag_view());
  r.add_header("Last-Modified", file.last_modified_view());
  prepare(r);
  r.external_body(size);
  const size_t start = out.size();
  r.serialize(out);
  if (!head && size != 0) {
    const size_t at = out.size();
    out.resize(at + size);
    if (!read_all(file.fd, out.data() + at, size)) {
      out.resize(start);
      return write_error(500);
    }
  }
  return 200;
}

}  // namespace ringcast
