// frame_bench: throughput of the WebSocket codec's hot loops.
//
//   1. Frame parse + unmask (server role: every frame masked) over a 16 MiB buffer of frames of 32 B,
//      512 B, 16 KiB and 1 MiB payload, the buffer whole and in 16 KiB recv-sized pieces, against
//      unmasking the same bytes with no parsing at all (the ceiling).
//   2. UTF-8 validation of ASCII and of mixed Latin/Greek/CJK/emoji text, 512 B to 16 MiB, with each
//      kernel this CPU has, against simdjson::validate_utf8 in the same run.
//
// Each figure is the best of --runs runs of at least --time milliseconds each; the figures of one row
// are measured in turns, so that they compare under the same conditions. GB/s are 10^9 bytes per second of
// input (wire bytes, headers included, for frames).
//
//   frame_bench                         print the tables (about 12 s)
//   frame_bench --runs 3 --json out.json
//
// Flags:
//   --time MS     minimum duration of one run, default 30
//   --runs N      runs per figure, the best counts, default 7
//   --json FILE   also write every figure as JSON to FILE
//   --help        this text
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <ringcast/ws/codec/detail/frame_parser.hpp>
#include <ringcast/ws/codec/detail/frame_writer.hpp>
#include <ringcast/ws/codec/detail/mask.hpp>
#include <ringcast/ws/codec/detail/simd_level.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>

using namespace ringcast;
using Clock = std::chrono::steady_clock;

namespace {

double g_min_seconds = 0.03;
int g_runs = 7;
volatile uint64_t g_sink = 0;

// A benchmark pass: does its work `times` times over.
using Pass = std::function<void(size_t times)>;

template <typename F>
Pass repeat(F f) {
  return [f](size_t times) mutable {
    for (size_t i = 0; i < times; ++i) f();
  };
}

// Measures passes that each process `bytes` bytes, taking turns run after run so that all of them see
// the same machine, and returns the best GB/s of each over g_runs runs (many short runs: on a shared
// machine some go uninterrupted). Passes run in batches long enough (>= 0.5 ms) that reading the clock
// costs nothing next to them.
std::vector<double> measure(size_t bytes, const std::vector<Pass>& passes) {
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  std::vector<size_t> batch(passes.size(), 1);
  for (size_t k = 0; k < passes.size(); ++k) {
    passes[k](1);  // warm-up: page faults, caches, dispatch
    for (;;) {
      const auto start = Clock::now();
      passes[k](batch[k]);
      if (seconds_since(start) >= 0.0005) break;
      batch[k] *= 2;
    }
  }
  std::vector<double> best(passes.size(), 0);
  for (int run = 0; run < g_runs; ++run) {
    for (size_t k = 0; k < passes.size(); ++k) {
      size_t iterations = 0;
      const auto start = Clock::now();
      double elapsed = 0;
      do {
        passes[k](batch[k]);
        iterations += batch[k];
        elapsed = seconds_since(start);
      } while (elapsed < g_min_seconds);
      best[k] = std::max(best[k], static_cast<double>(bytes) * static_cast<double>(iterations) / elapsed / 1e9);
    }
  }
  return best;
}

struct CountingVisitor {
  uint64_t bytes = 0;
  uint64_t frames = 0;
  bool on_frame_header(const FrameHeader&) { return true; }
  bool on_frame_payload(std::span<uint8_t> chunk) {
    bytes += chunk.size();
    return true;
  }
  bool on_frame_end() {
    ++frames;
    return true;
  }
  void on_frame_error(uint16_t code) {
    std::fprintf(stderr, "frame_bench: unexpected parse error %u\n", code);
    std::exit(1);
  }
};

std::vector<uint8_t> masked_frames(size_t payload_size, size_t total, size_t& frames) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> payload(payload_size);
  for (size_t i = 0; i < payload_size; ++i) payload[i] = static_cast<uint8_t>('a' + i % 26);
  frames = 0;
  while (out.size() + payload_size + kMaxFrameHeaderSize <= total || frames == 0) {
    const uint8_t key[4] = {static_cast<uint8_t>(frames), 0x5a, 0xc3, static_cast<uint8_t>(frames >> 8)};
    append_frame(out, OpCode::binary, payload, {.mask = key});
    ++frames;
  }
  return out;
}

struct FrameRow {
  size_t payload;
  size_t frames;
  double whole_gbps;
  double pieces_gbps;
  double unmask_gbps;
};

FrameRow bench_frames(size_t payload_size) {
  constexpr size_t kTotal = 16u << 20;
  constexpr size_t kPiece = 16u << 10;
  FrameRow row{payload_size, 0, 0, 0, 0};
  std::vector<uint8_t> buf = masked_frames(payload_size, kTotal, row.frames);
  const size_t bytes = buf.size();
  std::vector<uint8_t> raw = buf;
  // Unmasking in place flips the payload each pass; the headers stay as they are, so every pass parses.
  const std::vector<double> gbps = measure(bytes, {
      repeat([&] {
        FrameParser parser(Role::server);
        CountingVisitor v;
        parser.parse(buf, UINT64_MAX, v);
        g_sink = g_sink + v.frames;
      }),
      repeat([&] {
        FrameParser parser(Role::server);
        CountingVisitor v;
        for (size_t pos = 0; pos < buf.size(); pos += kPiece) {
          parser.parse(std::span(buf).subspan(pos, std::min(kPiece, buf.size() - pos)), UINT64_MAX, v);
        }
        g_sink = g_sink + v.frames;
      }),
      repeat([&] {
        apply_mask(raw, 0x12345678u);  // all bytes, headers too: a copy of its own
        g_sink = g_sink + raw[bytes / 2];
      }),
  });
  row.whole_gbps = gbps[0];
  row.pieces_gbps = gbps[1];
  row.unmask_gbps = gbps[2];
  return row;
}

std::string mixed_text(size_t size) {
  static const std::string kText =
      "Grüße aus Köln, naïve café — ça va? Ελληνικά: κόσμε, καλημέρα. 中文：你好，世界。"
      "日本語のテキストです。한국어 텍스트. Emoji: \xf0\x9f\x98\x80\xf0\x9f\x8e\x89\xf0\x9f\x9a\x80\xf0\x9f\x91\x8d "
      "and plain ASCII words between them, as chat messages have. ";
  std::string s;
  while (s.size() < size + 4) s += kText;
  return std::string(utf8_truncate(s, size));
}

struct Utf8Row {
  std::string input;
  size_t size;
  std::vector<std::pair<SimdLevel, double>> kernels;
  double best = 0;  // utf8_valid() with the dispatched kernel
  double simdjson_gbps = 0;
};

Utf8Row bench_utf8(const std::string& name, const std::string& text) {
  Utf8Row row{name, text.size(), {}, 0, 0};
  const auto* data = reinterpret_cast<const uint8_t*>(text.data());
  std::vector<Pass> passes;
  std::vector<SimdLevel> levels;
  for (SimdLevel level : {SimdLevel::avx2, SimdLevel::ssse3, SimdLevel::scalar}) {
    if (!simd_level_supported(level)) continue;
    levels.push_back(level);
    passes.push_back(repeat([&text, data, level] {
      uint8_t state = Utf8Validator::kAccept;
      if (detail::utf8_feed_with(level, state, data, text.size()) != text.size()) std::exit(1);
      g_sink = g_sink + state;
    }));
  }
  passes.push_back(repeat([&text, data] {
    if (!utf8_valid(std::span(data, text.size()))) std::exit(1);
    g_sink = g_sink + 1;
  }));
  passes.push_back(repeat([&text] {
    if (!simdjson::validate_utf8(text.data(), text.size())) std::exit(1);
    g_sink = g_sink + 1;
  }));
  const std::vector<double> gbps = measure(text.size(), passes);
  for (size_t i = 0; i < levels.size(); ++i) row.kernels.emplace_back(levels[i], gbps[i]);
  row.best = gbps[levels.size()];
  row.simdjson_gbps = gbps[levels.size() + 1];
  return row;
}

std::string size_name(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return fmt::format("{} MiB", n >> 20);
  if (n >= 1024 && n % 1024 == 0) return fmt::format("{} KiB", n >> 10);
  return fmt::format("{} B", n);
}

void usage(FILE* out) {
  std::fputs(
      "frame_bench: WebSocket frame parse + unmask and UTF-8 validation throughput (GB/s).\n"
      "\n"
      "  --time MS     minimum duration of one run, default 30\n"
      "  --runs N      runs per figure, the best counts, default 7\n"
      "  --json FILE   also write every figure as JSON to FILE\n"
      "  --help        this text\n"
      "\n"
      "RINGCAST_SIMD=scalar|ssse3|avx2 caps the kernels utf8_valid and masking dispatch to.\n"
      "Example: frame_bench --runs 3 --json frame_bench.json\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (arg == "--runs" && i + 1 < argc) {
      g_runs = std::atoi(argv[++i]);
      if (g_runs <= 0) {
        std::fputs("frame_bench: --runs wants a positive count\n", stderr);
        return 2;
      }
    } else if (arg == "--time" && i + 1 < argc) {
      g_min_seconds = std::atof(argv[++i]) / 1000.0;
      if (g_min_seconds <= 0) {
        std::fputs("frame_bench: --time wants a positive number of milliseconds\n", stderr);
        return 2;
      }
    } else {
      std::fprintf(stderr, "frame_bench: unknown argument '%s'\n\n", arg.c_str());
      usage(stderr);
      return 2;
    }
  }

  const auto simdjson_impl = simdjson::get_active_implementation()->name();
  const std::string simdjson_name = fmt::format("{}.{}.{} {}", int(simdjson::SIMDJSON_VERSION_MAJOR),
                                                int(simdjson::SIMDJSON_VERSION_MINOR),
                                                int(simdjson::SIMDJSON_VERSION_REVISION), simdjson_impl);
  fmt::print("kernels: ringcast {} (this CPU), simdjson {}\n\n", to_string(simd_level()), simdjson_name);

  fmt::print("Frame parse + unmask, server role, 16 MiB of masked frames (GB/s of wire bytes)\n");
  fmt::print("{:>10} {:>8} {:>10} {:>12} {:>12} {:>12}\n", "payload", "frames", "whole", "16KiB recv", "unmask only",
             "Mframes/s");
  std::vector<FrameRow> frame_rows;
  for (size_t size : {size_t{32}, size_t{512}, size_t{16} << 10, size_t{1} << 20}) {
    const FrameRow r = bench_frames(size);
    const double wire_per_frame = static_cast<double>(frame_header_size(size, true) + size);
    fmt::print("{:>10} {:>8} {:>10.2f} {:>12.2f} {:>12.2f} {:>12.1f}\n", size_name(size), r.frames, r.whole_gbps,
               r.pieces_gbps, r.unmask_gbps, r.whole_gbps * 1e3 / wire_per_frame);
    frame_rows.push_back(r);
  }

  fmt::print("\nUTF-8 validation (GB/s), ringcast kernels vs simdjson::validate_utf8\n");
  std::string header = fmt::format("{:>6} {:>8}", "input", "size");
  std::vector<Utf8Row> utf8_rows;
  for (const char* name : {"ascii", "mixed"}) {
    for (size_t size : {size_t{512}, size_t{16} << 10, size_t{1} << 20, size_t{16} << 20}) {
      const std::string text = std::string(name) == "ascii" ? std::string(size, 'a') : mixed_text(size);
      utf8_rows.push_back(bench_utf8(name, text));
    }
  }
  for (const auto& [level, gbps] : utf8_rows[0].kernels) header += fmt::format(" {:>8}", to_string(level));
  fmt::print("{} {:>10} {:>9} {:>7}\n", header, "utf8_valid", "simdjson", "ratio");
  for (const Utf8Row& r : utf8_rows) {
    std::string line = fmt::format("{:>6} {:>8}", r.input, size_name(r.size));
    for (const auto& [level, gbps] : r.kernels) line += fmt::format(" {:>8.2f}", gbps);
    fmt::print("{} {:>10.2f} {:>9.2f} {:>7.2f}\n", line, r.best, r.simdjson_gbps, r.best / r.simdjson_gbps);
  }
  fmt::print("(ratio = utf8_valid / simdjson; mixed text is {:.0f}% non-ASCII bytes)\n", [] {
    const std::string t = mixed_text(1 << 16);
    size_t high = 0;
    for (char c : t) high += static_cast<uint8_t>(c) >= 0x80;
    return 100.0 * static_cast<double>(high) / static_cast<double>(t.size());
  }());

  if (!json_path.empty()) {
    std::string j = fmt::format("{{\n  \"simd_level\": \"{}\",\n  \"simdjson\": \"{}\",\n  \"frame_parse\": [\n",
                                to_string(simd_level()), simdjson_name);
    for (size_t i = 0; i < frame_rows.size(); ++i) {
      const FrameRow& r = frame_rows[i];
      j += fmt::format(
          "    {{\"payload\": {}, \"frames\": {}, \"whole_gbps\": {:.3f}, \"recv16k_gbps\": {:.3f}, "
          "\"unmask_gbps\": {:.3f}}}{}\n",
          r.payload, r.frames, r.whole_gbps, r.pieces_gbps, r.unmask_gbps, i + 1 < frame_rows.size() ? "," : "");
    }
    j += "  ],\n  \"utf8\": [\n";
    for (size_t i = 0; i < utf8_rows.size(); ++i) {
      const Utf8Row& r = utf8_rows[i];
      std::string kernels;
      for (const auto& [level, gbps] : r.kernels) kernels += fmt::format("\"{}_gbps\": {:.3f}, ", to_string(level), gbps);
      j += fmt::format(
          "    {{\"input\": \"{}\", \"size\": {}, {}\"utf8_valid_gbps\": {:.3f}, \"simdjson_gbps\": {:.3f}, "
          "\"ratio\": {:.3f}}}{}\n",
          r.input, r.size, kernels, r.best, r.simdjson_gbps, r.best / r.simdjson_gbps,
          i + 1 < utf8_rows.size() ? "," : "");
    }
    j += "  ]\n}\n";
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (f == nullptr || std::fputs(j.c_str(), f) < 0 || std::fclose(f) != 0) {
      std::fprintf(stderr, "frame_bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return static_cast<int>(g_sink & 0);
}
