#include <ringcast/net/redis/detail/resp_parser.hpp>

#include <cstring>

namespace ringcast {
namespace {

// 18 digits cannot overflow int64_t; RESP2 integers and lengths need no more.
bool to_integer(const uint8_t* p, size_t n, int64_t& out) noexcept {
  bool negative = false;
  if (n > 0 && p[0] == '-') {
    negative = true;
    ++p;
    --n;
  }
  if (n == 0 || n > 18) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
    v = v * 10 + (p[i] - '0');
  }
  out = negative ? -v : v;
  return true;
}

}  // namespace

RespParser::RespParser(Limits limits) : limits_(limits) {
  // Offsets and lengths of strings are kept in 32 bits while a reply is parsed (see finish()).
  if (limits_.max_bulk > UINT32_MAX) limits_.max_bulk = UINT32_MAX;
  if (limits_.max_line > UINT32_MAX) limits_.max_line = UINT32_MAX;
  if (limits_.max_values > UINT32_MAX) limits_.max_values = UINT32_MAX;
  if (limits_.max_array > UINT32_MAX) limits_.max_array = UINT32_MAX;
  stack_.reserve(limits_.max_depth);
}

const char* RespParser::describe(Error e) noexcept {
  switch (e) {
    case Error::none: return "no error";
    case Error::syntax: return "not RESP2";
    case Error::line_too_long: return "a line longer than the limit";
    case Error::bulk_too_long: return "a bulk string longer than the limit";
    case Error::array_too_long: return "an array longer than the limit";
    case Error::too_many_values: return "more values in one reply than the limit";
    case Error::too_deep: return "arrays nested deeper than the limit";
  }
  return "?";
}

void RespParser::start() noexcept {
  values_.clear();
  values_.emplace_back();
  stack_.clear();
  pos_ = 0;
  scan_ = 0;
  bulk_ = -1;
  slot_ = 0;
  error_ = Error::none;
  started_ = true;
}

RespParser::Status RespParser::line(std::span<const uint8_t> in, size_t& length) {
  const size_t begin = pos_ + 1;
  const size_t from = scan_ > begin ? scan_ : begin;
  const void* cr = from < in.size() ? std::memchr(in.data() + from, '\r', in.size() - from) : nullptr;
  if (!cr) {
    scan_ = in.size();
    return in.size() - begin > limits_.max_line ? fail(Error::line_too_long) : Status::incomplete;
  }
  const size_t at = static_cast<size_t>(static_cast<const uint8_t*>(cr) - in.data());
  if (at - begin > limits_.max_line) return fail(Error::line_too_long);
  scan_ = at;  // found: a resumed parse finds it again at once
  if (at + 1 >= in.size()) return Status::incomplete;  // the LF has not come yet
  if (in[at + 1] != '\n') return fail(Error::syntax);   // a bare CR never appears in a RESP2 line
  length = at - begin;
  return Status::complete;
}

bool RespParser::value_done() noexcept {
  scan_ = 0;
  while (!stack_.empty()) {
    Frame& f = stack_.back();
    if (--f.left > 0) {
      slot_ = ++f.next;
      return false;
    }
    stack_.pop_back();  // the array is complete: it was an element of the one below
  }
  return true;
}

// While a reply is parsed its strings are kept as offsets (in `integer`) and lengths (in `first`),
// since the input may move between calls; once it is complete they become views of the input.
void RespParser::finish(const uint8_t* base) noexcept {
  for (RespValue& v : values_) {
    if (v.type == RespType::simple || v.type == RespType::error || v.type == RespType::bulk) {
      v.text = {reinterpret_cast<const char*>(base + v.integer), v.first};
      v.integer = 0;
      v.first = 0;
    }
  }
  consumed_ = pos_;
  started_ = false;
}

RespParser::Status RespParser::parse(std::span<const uint8_t> in) {
  if (!started_ || in.size() < pos_) start();
  for (;;) {
    RespValue& v = values_[slot_];
    if (bulk_ >= 0) {  // the header is read; the payload and its CRLF are awaited
      const size_t len = static_cast<size_t>(bulk_);
      if (in.size() - pos_ < len + 2) return Status::incomplete;
      if (in[pos_ + len] != '\r' || in[pos_ + len + 1] != '\n') return fail(Error::syntax);
      v = RespValue{RespType::bulk, {}, static_cast<int64_t>(pos_), static_cast<uint32_t>(len)};
      pos_ += len + 2;
      bulk_ = -1;
      if (value_done()) break;
      continue;
    }
    if (pos_ >= in.size()) return Status::incomplete;
    const char type = static_cast<char>(in[pos_]);
    if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') return fail(Error::syntax);
    size_t n = 0;
    if (const Status st = line(in, n); st != Status::complete) return st;
    const size_t text = pos_ + 1;
    const size_t next = text + n + 2;
    int64_t count = 0;
    switch (type) {
      case '+':
      case '-':
        v = RespValue{type == '+' ? RespType::simple : RespType::error, {}, static_cast<int64_t>(text),
                      static_cast<uint32_t>(n)};
        break;
      case ':':
        v = RespValue{RespType::integer, {}, 0, 0};
        if (!to_integer(in.data() + text, n, v.integer)) return fail(Error::syntax);
        break;
      case '$':
        if (!to_integer(in.data() + text, n, count) || count < -1) return fail(Error::syntax);
        if (count == -1) {
          v = RespValue{};
          break;
        }
        if (static_cast<uint64_t>(count) > limits_.max_bulk) return fail(Error::bulk_too_long);
        pos_ = next;
        scan_ = 0;
        bulk_ = count;
        continue;
      case '*':
        if (!to_integer(in.data() + text, n, count) || count < -1) return fail(Error::syntax);
        if (count == -1) {
          v = RespValue{};
          break;
        }
        if (static_cast<uint64_t>(count) > limits_.max_array) return fail(Error::array_too_long);
        if (stack_.size() >= limits_.max_depth) return fail(Error::too_deep);
        if (static_cast<uint64_t>(count) > limits_.max_values - values_.size()) return fail(Error::too_many_values);
        // Every element takes at least 3 bytes (":0\r\n" is 4): room is made for the elements only
        // once the bytes could hold them, so a count alone makes us allocate nothing.
        if (static_cast<uint64_t>(count) * 3 > in.size() - next) return Status::incomplete;
        v = RespValue{RespType::array, {}, count, static_cast<uint32_t>(values_.size())};
        pos_ = next;
        if (count == 0) break;
        {
          const auto first = static_cast<uint32_t>(values_.size());
          values_.resize(values_.size() + static_cast<size_t>(count));  // `v` is not used past here
          stack_.push_back(Frame{first, static_cast<uint32_t>(count)});
          slot_ = first;
          scan_ = 0;
        }
        continue;
    }
    pos_ = next;
    if (value_done()) break;
  }
  finish(in.data());
  return Status::complete;
}

}  // namespace ringcast
