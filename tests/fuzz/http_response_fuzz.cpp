// Fuzzes the client's HTTP response-head parser: any input, whole and split at a chosen point. A
// prefix of a complete head must never be reported as an error that the whole head is not, and a
// complete head's views must lie inside the input.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <ringcast/net/http/detail/http_response_parser.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ringcast::HttpResponseHead;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const HttpResponseHead whole = HttpResponseHead::parse(in);
  if (whole.status == HttpResponseHead::Status::complete) {
    assert(whole.head_bytes <= size);
    assert(whole.code >= 100 && whole.code <= 999);
    for (const auto& h : whole.headers()) {
      assert(h.name.data() >= in.data() && h.name.data() + h.name.size() <= in.data() + size);
      assert(h.value.data() >= in.data() && h.value.data() + h.value.size() <= in.data() + size);
    }
    // Every strict prefix ending before the blank line is incomplete or an error, never complete.
    const HttpResponseHead part = HttpResponseHead::parse(in.substr(0, whole.head_bytes - 1));
    assert(part.status != HttpResponseHead::Status::complete);
  }
  return 0;
}
