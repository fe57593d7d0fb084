// libFuzzer target for FrameParser. The input's tail chooses split points, callback stops, allowed RSV
// bits and a payload limit (FuzzedDataProvider reads integers from the end); its head is the byte
// stream. The stream is parsed in both roles, whole and split (with stops): the results must be the
// same, no callback may follow an error, and every complete frame, re-encoded with FrameWriter, must
// give back its bytes when its length was in the minimal form.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <vector>

#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include "tests/support/frame_recorder.hpp"

using namespace ringcast;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_reencoding(std::span<const uint8_t> wire, const test::ParseOutcome& out) {
  size_t offset = 0;
  std::vector<uint8_t> encoded;
  for (const test::RecordedFrame& f : out.frames) {
    if (!f.ended) break;
    const FrameHeader& h = f.header;
    const size_t size = h.header_size + f.payload.size();
    check(f.payload.size() == h.payload_length);
    if (h.header_size == frame_header_size(f.payload.size(), h.masked) && (h.rsv & ~kRsv1) == 0) {
      uint8_t key[4];
      store_mask_key(h.mask_key, key);
      encoded.clear();
      append_frame(encoded, h.opcode,
                   {reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size()},
                   {.fin = h.fin, .rsv1 = h.rsv1(), .mask = h.masked ? key : nullptr});
      check(encoded.size() == size && std::equal(encoded.begin(), encoded.end(), wire.begin() + offset));
    }
    offset += size;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  test::ParseSetup setup;
  setup.allowed_rsv = fdp.ConsumeIntegral<uint8_t>() & 0x70;
  const uint8_t limit = fdp.ConsumeIntegral<uint8_t>();
  setup.max_payload = limit < 128 ? UINT64_MAX : uint64_t{limit} * 4;
  const uint8_t stops = fdp.ConsumeIntegral<uint8_t>();
  std::vector<size_t> sizes(fdp.ConsumeIntegralInRange<size_t>(0, 24));
  for (size_t& s : sizes) s = fdp.ConsumeIntegralInRange<size_t>(1, 40);
  const std::vector<uint8_t> wire = fdp.ConsumeRemainingBytes<uint8_t>();

  for (Role role : {Role::server, Role::client}) {
    setup.role = role;
    setup.stop = {};
    const test::ParseOutcome whole = test::parse_pieces(wire, setup);
    check(!whole.stuck && whole.calls_after_error == 0 && whole.error_calls <= 1);
    check(whole.error != 0 ? whole.consumed <= wire.size() : whole.consumed == wire.size());
    check(whole.error == 0 || whole.error == 1002 || whole.error == 1009);
    check_reencoding(wire, whole);

    test::ParseSetup split_setup = setup;
    split_setup.stop = {(stops & 1) != 0, (stops & 2) != 0, (stops & 4) != 0};
    check(test::parse_pieces(wire, split_setup, sizes) == whole);
    std::vector<size_t> bytewise(wire.size() < 4096 ? wire.size() : 0, 1);
    check(test::parse_pieces(wire, setup, bytewise) == whole);
  }
  return 0;
}
