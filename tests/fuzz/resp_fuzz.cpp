// Fuzzes the RESP2 reply parser: any input, whole and cut short. A complete reply's views lie inside
// the input and its elements are all there; every strict prefix of a complete reply is incomplete
// (never malformed, never complete), so a reply split across reads parses the same.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

#include <ringcast/net/redis/detail/resp_parser.hpp>

namespace {

void check_inside(const ringcast::RespParser& p, const ringcast::RespValue& v, const uint8_t* begin, const uint8_t* end) {
  using ringcast::RespType;
  if (v.type == RespType::simple || v.type == RespType::error || v.type == RespType::bulk) {
    const auto* s = reinterpret_cast<const uint8_t*>(v.text.data());
    assert(v.text.empty() || (s >= begin && s + v.text.size() <= end));
  }
  if (v.type == RespType::array) {
    assert(v.integer >= 0);
    for (int64_t i = 0; i < v.integer; ++i) check_inside(p, p.child(v, static_cast<size_t>(i)), begin, end);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ringcast::RespParser;
  RespParser p(RespParser::Limits{.max_bulk = 1 << 16, .max_values = 1 << 12, .max_depth = 8});
  const std::span<const uint8_t> in(data, size);
  size_t at = 0;
  while (at < size) {
    const RespParser::Status st = p.parse(in.subspan(at));
    if (st != RespParser::Status::complete) break;
    const size_t used = p.consumed();
    assert(used > 0 && used <= size - at);
    check_inside(p, p.root(), data + at, data + at + used);
    RespParser q(RespParser::Limits{.max_bulk = 1 << 16, .max_values = 1 << 12, .max_depth = 8});
    for (size_t cut : {used - 1, used / 2}) {
      assert(q.parse(in.subspan(at, cut)) == RespParser::Status::incomplete);
    }
    at += used;
  }
  return 0;
}
