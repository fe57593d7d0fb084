#include <ringcast/ws/codec/detail/frame_parser.hpp>

namespace ringcast {

FrameParser::HeaderCheck FrameParser::resume_header(const uint8_t* data, size_t avail, uint64_t max_payload,
                                                    FrameHeader& out) noexcept {
  // Take exactly the bytes each check needs, so that an error is found at the same byte however the
  // header was split.
  size_t taken = 0;
  for (;;) {
    const HeaderCheck check = check_header(u_.header, header_len_, max_payload, out);
    if (check.status != HeaderCheck::kIncomplete) {
      return {check.status, static_cast<uint8_t>(taken), check.error};
    }
    if (taken == avail) return {HeaderCheck::kIncomplete, static_cast<uint8_t>(taken), 0};
    const size_t want = check.size - header_len_;
    const size_t copy = want < avail - taken ? want : avail - taken;
    std::memcpy(u_.header + header_len_, data + taken, copy);
    header_len_ = static_cast<uint8_t>(header_len_ + copy);
    taken += copy;
  }
}

}  // namespace ringcast
