#!/usr/bin/python3
"""Bots for ringcast-game: PLAYERS bots join MATCHES matches, change their keys every INTERVAL
seconds, and count what arrives. Prints snapshots per second per bot, the spread of snapshot
inter-arrival times, bytes received, and — with --pid — the server's CPU time over the run.

  apps/game/load.py --port 8090 --matches 4 --players 64 --seconds 10 --pid $(pidof ringcast-game)

Uses Debian's python3-websockets (/usr/bin/python3). The bots share one process: with many of them
the figures include this client's own lag, so keep an eye on its CPU too.
"""
import argparse
import asyncio
import os
import random
import statistics
import struct
import time

import websockets


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def join(url):
    ws = await websockets.connect(url, max_size=1 << 20, compression=None, close_timeout=1)
    welcome = await ws.recv()
    assert welcome[0] == 0x01, "the first message is WELCOME"
    return ws


async def play(ws, seconds, interval, stats):
    start = time.monotonic()
    next_input = start
    arrivals, received = [], 0
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        if now >= next_input:
            await ws.send(bytes([0x10, random.choice([0, 1, 2, 4, 8, 9, 10, 5, 6])]))
            next_input += interval
        try:
            m = await asyncio.wait_for(ws.recv(), timeout=max(0.001, min(next_input, start + seconds) - now))
        except asyncio.TimeoutError:
            continue
        received += len(m)
        if m[0] == 0x02:
            arrivals.append(time.monotonic())
    stats.append((arrivals, received))


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--matches", type=int, default=1)
    p.add_argument("--players", type=int, default=64, help="bots per match")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--interval", type=float, default=0.2, help="seconds between a bot's input changes")
    p.add_argument("--pid", type=int, help="the server's pid, to report its CPU time")
    a = p.parse_args()
    stats = []
    urls = [f"ws://{a.host}:{a.port}/play?match=load{m}&name=bot{m}-{i}"
            for m in range(a.matches) for i in range(a.players)]
    sockets = await asyncio.gather(*(join(u) for u in urls))
    cpu0 = cpu_seconds(a.pid) if a.pid else None
    t0 = time.monotonic()
    await asyncio.gather(*(play(ws, a.seconds, a.interval, stats) for ws in sockets))
    wall = time.monotonic() - t0
    cpu = cpu_seconds(a.pid) - cpu0 if a.pid else None
    await asyncio.gather(*(ws.close() for ws in sockets))
    rates, gaps, total_bytes, total_snaps = [], [], 0, 0
    for arrivals, received in stats:
        total_bytes += received
        total_snaps += len(arrivals)
        if len(arrivals) > 1:
            rates.append((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]))
            gaps += [(b - x) * 1000 for x, b in zip(arrivals, arrivals[1:])]
    gaps.sort()
    print(f"{len(stats)} bots in {a.matches} match(es), {wall:.1f} s")
    print(f"snapshots per second per bot: min {min(rates):.1f}, median {statistics.median(rates):.1f}, max {max(rates):.1f}")
    print(f"inter-arrival ms: median {gaps[len(gaps) // 2]:.1f}, p99 {gaps[int(len(gaps) * 0.99)]:.1f}, max {gaps[-1]:.1f}")
    print(f"delivered: {total_snaps / wall:.0f} snapshots/s, {total_bytes / wall / 1e6:.2f} MB/s")
    if cpu is not None:
        print(f"server CPU: {cpu:.2f} s over {wall:.1f} s = {100 * cpu / wall:.1f}% of one core, "
              f"{1e6 * cpu / max(1, total_snaps):.2f} us per snapshot delivered")


if __name__ == "__main__":
    asyncio.run(main())
