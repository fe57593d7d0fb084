#include <ringcast/net/redis/detail/resp_parser.hpp>

#include <cstring>

namespace ringcast {

RespParser::Status RespParser::line(std::string_view& out) {
  const uint8_t* start = in_.data() + pos_;
  const size_t left = in_.size() - pos_;
  const void* cr = std::memchr(start, '\r', left);
  if (!cr) return Status::incomplete;
  const size_t n = static_cast<size_t>(static_cast<const uint8_t*>(cr) - start);
  if (n + 1 >= left) return Status::incomplete;  // the LF has not come yet
  if (start[n + 1] != '\n') return Status::malformed;  // a bare CR never appears in a RESP2 line
  out = {reinterpret_cast<const char*>(start), n};
  pos_ += n + 2;
  return Status::complete;
}

RespParser::Status RespParser::integer_line(int64_t& out) {
  std::string_view s;
  if (const Status st = line(s); st != Status::complete) return st;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 18) return Status::malformed;  // 18 digits cannot overflow int64_t
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return Status::malformed;
    v = v * 10 + (ch - '0');
  }
  out = negative ? -v : v;
  return Status::complete;
}

RespParser::Status RespParser::value(uint32_t slot, unsigned depth) {
  if (pos_ >= in_.size()) return Status::incomplete;
  const char type = static_cast<char>(in_[pos_++]);
  RespValue v;
  Status st = Status::complete;
  switch (type) {
    case '+':
    case '-':
      v.type = type == '+' ? RespType::simple : RespType::error;
      st = line(v.text);
      break;
    case ':':
      v.type = RespType::integer;
      st = integer_line(v.integer);
      break;
    case '$': {
      int64_t n = 0;
      if ((st = integer_line(n)) != Status::complete) return st;
      if (n == -1) {
        v.type = RespType::null;
        break;
      }
      if (n < 0 || static_cast<uint64_t>(n) > limits_.max_bulk) return Status::malformed;
      const size_t len = static_cast<size_t>(n);
      if (in_.size() - pos_ < len + 2) return Status::incomplete;
      if (in_[pos_ + len] != '\r' || in_[pos_ + len + 1] != '\n') return Status::malformed;
      v.type = RespType::bulk;
      v.text = {reinterpret_cast<const char*>(in_.data() + pos_), len};
      pos_ += len + 2;
      break;
    }
    case '*': {
      int64_t n = 0;
      if ((st = integer_line(n)) != Status::complete) return st;
      if (n == -1) {
        v.type = RespType::null;
        break;
      }
      if (n < 0 || depth >= limits_.max_depth) return Status::malformed;
      if (static_cast<uint64_t>(n) > limits_.max_values - values_.size()) return Status::malformed;
      // Every element takes at least 3 bytes (":0\r\n" is 4): a count the bytes cannot hold yet is
      // incomplete, and reserving for it would let a peer make us allocate for nothing.
      if (static_cast<uint64_t>(n) * 3 > in_.size() - pos_) return Status::incomplete;
      v.type = RespType::array;
      v.integer = n;
      v.first = static_cast<uint32_t>(values_.size());
      values_.resize(values_.size() + static_cast<size_t>(n));
      values_[slot] = v;
      for (uint32_t i = 0; i < static_cast<uint32_t>(n); ++i) {
        if ((st = value(v.first + i, depth + 1)) != Status::complete) return st;
      }
      return Status::complete;
    }
    default:
      return Status::malformed;
  }
  if (st == Status::complete) values_[slot] = v;
  return st;
}

RespParser::Status RespParser::parse(std::span<const uint8_t> in) {
  in_ = in;
  pos_ = 0;
  values_.clear();
  values_.emplace_back();
  const Status st = value(0, 0);
  consumed_ = st == Status::complete ? pos_ : 0;
  return st;
}

}  // namespace ringcast
