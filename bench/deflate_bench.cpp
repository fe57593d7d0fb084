// deflate_bench — CPU cost and ratio of permessage-deflate (RFC 7692) on two kinds of message: ~200-byte
// JSON chat messages and 16 KiB of text. Measures thread CPU time (not wall time, so other processes on
// the machine matter less) and keeps the best of a few rounds.
//
//   compress   SharedDeflater, one-shot without context takeover: zlib vs libdeflate, levels 1 and 6
//   context    ContextDeflater (one connection's stream, context takeover), zlib level 1
//   inflate    Inflater + InflaterPool without and with context takeover (zlib), and libdeflate's
//              one-shot decompressor on the same data for comparison
//
// Usage: deflate_bench [--seconds S] [--json FILE]
//   --seconds S   CPU time per measurement round, default 0.2 (3 rounds each)
//   --json FILE   also write the figures as JSON
//   --help        this text
// Example: build/bin/deflate_bench --seconds 0.1 --json deflate.json
#include <libdeflate.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/deflate/detail/deflater.hpp>
#include <ringcast/ws/deflate/detail/inflater.hpp>
#include "tests/support/sample_messages.hpp"

using namespace ringcast;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Figure {
  std::string name;
  double ns_per_msg;
  double mb_per_s;   // uncompressed bytes per second
  double ratio;      // compressed / uncompressed (0 where it does not apply)
};

// Runs `op(i)` (which returns the uncompressed bytes it handled) for `seconds` of CPU, `rounds` times;
// returns the best round's ns per call and MB/s.
template <class Op>
std::pair<double, double> measure(double seconds, Op&& op) {
  double best_ns = 1e300, best_mbs = 0;
  for (int round = 0; round < 3; ++round) {
    std::size_t calls = 0, bytes = 0;
    const double start = cpu_seconds();
    double elapsed = 0;
    while (elapsed < seconds) {
      for (int k = 0; k < 64; ++k) bytes += op(calls++);
      elapsed = cpu_seconds() - start;
    }
    const double ns = elapsed * 1e9 / static_cast<double>(calls);
    if (ns < best_ns) {
      best_ns = ns;
      best_mbs = static_cast<double>(bytes) / elapsed / 1e6;
    }
  }
  return {best_ns, best_mbs};
}

void usage(FILE* f) {
  std::fputs(
      "deflate_bench: CPU cost and ratio of permessage-deflate compression and inflation\n"
      "usage: deflate_bench [--seconds S] [--json FILE]\n"
      "  --seconds S   CPU seconds per measurement round, default 0.2 (best of 3 rounds)\n"
      "  --json FILE   also write the figures as JSON\n"
      "  --help        this text\n"
      "example: deflate_bench --seconds 0.1 --json deflate.json\n",
      f);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.2;
  const char* json_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json_path = argv[++i];
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (!(seconds > 0)) {
    usage(stderr);
    return 2;
  }

  std::mt19937 rng(1);
  struct Set {
    const char* name;
    std::vector<std::string> messages;
  };
  std::vector<Set> sets(2);
  sets[0].name = "json200";
  for (int i = 0; i < 256; ++i) sets[0].messages.push_back(test::json_message(rng));
  sets[1].name = "text16k";
  for (int i = 0; i < 8; ++i) sets[1].messages.push_back(test::text_message(rng, 16384));

  std::vector<Figure> figures;
  std::string out;
  out.reserve(1 << 20);
  for (const Set& set : sets) {
    const std::vector<std::string>& msgs = set.messages;
    std::size_t total = 0;
    for (const std::string& m : msgs) total += m.size();

    // One-shot compression without context takeover.
    for (const DeflateEngine engine : {DeflateEngine::zlib, DeflateEngine::libdeflate}) {
      for (const int level : {1, 6}) {
        SharedDeflater d(level, engine);
        std::vector<char> buf(deflate_bound(16384));
        std::size_t compressed = 0;
        for (const std::string& m : msgs) compressed += d.compress(m, 15, std::span<char>(buf)).size;
        const auto [ns, mbs] = measure(seconds, [&](std::size_t i) {
          const std::string& m = msgs[i % msgs.size()];
          d.compress(m, 15, std::span<char>(buf));
          return m.size();
        });
        figures.push_back({std::string("compress/") + set.name + "/" +
                               (engine == DeflateEngine::zlib ? "zlib" : "libdeflate") + "/level" + std::to_string(level),
                           ns, mbs, static_cast<double>(compressed) / static_cast<double>(total)});
      }
    }

    // One connection's stream with context takeover: later messages refer to earlier ones.
    {
      ContextDeflater c;
      std::size_t compressed = 0, n = 0;
      std::string payload;
      for (int rep = 0; rep < 4; ++rep) {
        for (const std::string& m : msgs) {
          payload.clear();
          c.compress(m, 15, 1, 8, payload);
          if (rep == 3) compressed += payload.size(), n += m.size();
        }
      }
      const auto [ns, mbs] = measure(seconds, [&](std::size_t i) {
        const std::string& m = msgs[i % msgs.size()];
        payload.clear();
        c.compress(m, 15, 1, 8, payload);
        return m.size();
      });
      figures.push_back({std::string("context/") + set.name + "/zlib/level1", ns, mbs,
                         static_cast<double>(compressed) / static_cast<double>(n)});
    }

    // Inflation of zlib level-1 output (no context): the shard's pooled stream, reset per message.
    {
      SharedDeflater d(1, DeflateEngine::zlib);
      std::vector<std::string> payloads;
      for (const std::string& m : msgs) {
        payloads.emplace_back();
        d.compress(m, 15, payloads.back());
      }
      InflaterPool pool;
      const InflateParams p{.no_context_takeover = true, .window_bits = 15, .max_message_size = 1 << 20};
      const auto [ns, mbs] = measure(seconds, [&](std::size_t i) {
        Inflater inf;
        out.clear();
        if (inf.inflate_message(pool, p, payloads[i % payloads.size()], out) != InflateStatus::ok) std::abort();
        return out.size();
      });
      figures.push_back({std::string("inflate/") + set.name + "/zlib/pooled", ns, mbs, 0});

      // libdeflate needs a final block to stop at: payload + 00 00 ff ff + an empty final fixed block.
      libdeflate_decompressor* ld = libdeflate_alloc_decompressor();
      std::vector<char> in(1 << 20), dst(1 << 20);
      const auto [lns, lmbs] = measure(seconds, [&](std::size_t i) {
        const std::string& pl = payloads[i % payloads.size()];
        std::memcpy(in.data(), pl.data(), pl.size());
        std::memcpy(in.data() + pl.size(), "\x00\x00\xff\xff\x03\x00", 6);
        std::size_t got = 0;
        if (libdeflate_deflate_decompress(ld, in.data(), pl.size() + 6, dst.data(), dst.size(), &got) !=
            LIBDEFLATE_SUCCESS) {
          std::abort();
        }
        return got;
      });
      libdeflate_free_decompressor(ld);
      figures.push_back({std::string("inflate/") + set.name + "/libdeflate/reference", lns, lmbs, 0});
    }

    // Inflation with context takeover: one connection's stream, message after message.
    {
      ContextDeflater c;
      std::vector<std::string> payloads;
      for (int rep = 0; rep < 64; ++rep) {
        for (const std::string& m : msgs) {
          payloads.emplace_back();
          c.compress(m, 15, 1, 8, payloads.back());
        }
      }
      const InflateParams p{.no_context_takeover = false, .window_bits = 15, .max_message_size = 1 << 20};
      InflaterPool pool;
      Inflater inf;
      const auto [ns, mbs] = measure(seconds, [&](std::size_t i) {
        if (i % payloads.size() == 0) inf.release(pool);  // the stream's history restarts with the data
        out.clear();
        if (inf.inflate_message(pool, p, payloads[i % payloads.size()], out) != InflateStatus::ok) std::abort();
        return out.size();
      });
      inf.release(pool);
      figures.push_back({std::string("inflate/") + set.name + "/zlib/takeover", ns, mbs, 0});
    }
  }

  std::printf("%-40s %12s %10s %8s\n", "measurement", "ns/msg", "MB/s", "ratio");
  for (const Figure& f : figures) {
    std::printf("%-40s %12.0f %10.1f %8s\n", f.name.c_str(), f.ns_per_msg, f.mb_per_s,
                f.ratio > 0 ? std::to_string(f.ratio).substr(0, 5).c_str() : "-");
  }
  if (json_path != nullptr) {
    FILE* f = std::fopen(json_path, "w");
    if (f == nullptr) {
      std::perror(json_path);
      return 1;
    }
    std::fprintf(f, "{\n  \"bench\": \"deflate\",\n  \"unit\": {\"ns_per_msg\": \"ns of thread CPU\", \"mb_per_s\": "
                    "\"uncompressed MB per CPU second\", \"ratio\": \"compressed / uncompressed\"},\n  \"results\": [\n");
    for (std::size_t i = 0; i < figures.size(); ++i) {
      const Figure& x = figures[i];
      std::fprintf(f, "    {\"name\": \"%s\", \"ns_per_msg\": %.1f, \"mb_per_s\": %.2f, \"ratio\": %.4f}%s\n",
                   x.name.c_str(), x.ns_per_msg, x.mb_per_s, x.ratio, i + 1 < figures.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
  }
  return 0;
}
