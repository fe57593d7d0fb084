#pragma once
// A FrameVisitor that records what FrameParser reports, and a driver that feeds a byte stream to a
// parser in pieces the way recv buffers arrive (each piece in its own buffer, scribbled over after the
// call as a recycled buffer would be). Shared by the unit tests and the frame_parser fuzz target.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <ringcast/ws/codec/detail/frame_parser.hpp>

namespace ringcast::test {

struct RecordedFrame {
  FrameHeader header;
  std::string payload;  // the chunks, joined
  size_t chunks = 0;
  bool ended = false;

  bool operator==(const RecordedFrame& o) const {
    const FrameHeader& a = header;
    const FrameHeader& b = o.header;
    return a.payload_length == b.payload_length && a.mask_key == b.mask_key && a.opcode == b.opcode &&
           a.rsv == b.rsv && a.fin == b.fin && a.masked == b.masked && a.header_size == b.header_size &&
           payload == o.payload && ended == o.ended;
  }
};

// Which callbacks return false (stop the parse).
struct StopAfter {
  bool header = false;
  bool payload = false;
  bool end = false;
};

struct FrameRecorder {
  std::vector<RecordedFrame> frames;
  uint16_t error = 0;
  int error_calls = 0;
  int calls_after_error = 0;
  StopAfter stop;

  bool on_frame_header(const FrameHeader& h) {
    calls_after_error += error_calls;
    frames.push_back({h, {}, 0, false});
    return !stop.header;
  }
  bool on_frame_payload(std::span<uint8_t> chunk) {
    calls_after_error += error_calls;
    frames.back().payload.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    ++frames.back().chunks;
    return !stop.payload;
  }
  bool on_frame_end() {
    calls_after_error += error_calls;
    frames.back().ended = true;
    return !stop.end;
  }
  void on_frame_error(uint16_t code) {
    error = code;
    ++error_calls;
  }
};

struct ParseOutcome {
  std::vector<RecordedFrame> frames;
  uint16_t error = 0;
  size_t consumed = 0;  // bytes the parser consumed in all
  int error_calls = 0;
  int calls_after_error = 0;
  bool stuck = false;  // the parser made no progress

  bool operator==(const ParseOutcome& o) const {
    return frames == o.frames && error == o.error && consumed == o.consumed && error_calls == o.error_calls &&
           calls_after_error == o.calls_after_error && stuck == o.stuck;
  }
};

struct ParseSetup {
  Role role = Role::server;
  uint8_t allowed_rsv = 0;
  uint64_t max_payload = UINT64_MAX;
  StopAfter stop;
};

// Feeds `wire` in pieces of the given sizes (the last piece takes the rest; an empty list: whole).
// When a callback stops the parse, the rest of the piece is passed again, as a session would once it
// resumes reading.
inline ParseOutcome parse_pieces(std::span<const uint8_t> wire, const ParseSetup& setup,
                                 const std::vector<size_t>& sizes = {}) {
  FrameParser parser(setup.role, setup.allowed_rsv);
  FrameRecorder rec;
  rec.stop = setup.stop;
  ParseOutcome out;
  size_t pos = 0;
  size_t k = 0;
  std::vector<uint8_t> buffer;
  while (pos < wire.size() && !parser.failed()) {
    size_t len = k < sizes.size() ? sizes[k++] : wire.size() - pos;
    if (len > wire.size() - pos) len = wire.size() - pos;
    buffer.assign(wire.begin() + static_cast<std::ptrdiff_t>(pos), wire.begin() + static_cast<std::ptrdiff_t>(pos + len));
    size_t done = 0;
    // Each call consumes bytes or delivers the one frame end a stopped callback held back.
    for (size_t calls = 0; done < len && !parser.failed(); ++calls) {
      if (calls > 2 * len + 2) {
        out.stuck = true;
        break;
      }
      done += parser.parse(std::span(buffer).subspan(done), setup.max_payload, rec);
    }
    out.consumed += done;
    std::fill(buffer.begin(), buffer.end(), uint8_t{0xEE});  // the recv buffer is recycled
    pos += len;
  }
  if (!parser.failed()) parser.parse(std::span<uint8_t>(), setup.max_payload, rec);  // a held-back frame end
  out.frames = std::move(rec.frames);
  out.error = rec.error;
  out.error_calls = rec.error_calls;
  out.calls_after_error = rec.calls_after_error;
  return out;
}

}  // namespace ringcast::test
