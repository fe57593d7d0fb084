#!/usr/bin/python3
"""Interop client: Python `websockets` (Debian's 10.4) against ringcast-echo.

    python_client.py SCENARIO [--url ws://127.0.0.1:9001/echo] [--deflate] [--ca FILE]

The URL defaults to $RINGCAST_URL (set by run_echo.py). --deflate offers permessage-deflate (RFC 7692)
and fails unless the server accepts it; without it, no extension is offered. A wss:// URL connects
with TLS, trusting the certificates in --ca FILE (default: the system store). Scenarios:

  messages     text and binary of 0 B, 1, 125, 126, 65535, 65536 B, 1 MiB and 16 MiB echo byte for byte
               with their opcode (text arrives as str, binary as bytes)
  fragmented   messages sent in fragments (some empty) come back whole
  pipelined    1,000 messages sent without waiting come back complete and in order
  ping         pings of 0, 1 and 125 bytes are answered with the same payload, also between messages
  close        a clean close: the client sends 1000 and sees the server's Close with 1000
  too-big      with --max-message 65536 on the server: 65,536 B echo, 65,537 B (whole or in
               fragments) end the connection with 1009
  idle         with --idle-timeout 1 on the server: the server closes with 1001 "idle timeout"
  sigterm      SIGTERM to the server ($RINGCAST_SERVER_PID) closes every client with 1001
               "server shutting down"

Exit status 0 when every check passed; a failed check prints what differed.
"""
import argparse
import asyncio
import os
import random
import signal
import ssl
import sys
import time

import websockets
from websockets.exceptions import ConnectionClosed

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20]
SCENARIO_TIMEOUT_S = 90
CONNECTIONS = []  # every connection opened, so a failed scenario can drop them at once


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def binary_payload(size, seed):
    return random.Random(seed).randbytes(size)


_TEXT_BLOCKS = []


def text_payload(size, seed):
    """Valid UTF-8 of exactly `size` bytes, mixing 1- to 4-byte characters, without a period."""
    if not _TEXT_BLOCKS:
        pool_rng = random.Random(0)
        pools = ["abcdefghijklmnopqrstuvwxyz0123456789 ", "éüßøñ¿¡αβγδ", "€中文日本語✓", "😀🚀🎉𝄞"]
        for _ in range(8):
            _TEXT_BLOCKS.append("".join(pool_rng.choice(pool_rng.choice(pools)) for _ in range(4096)))
    rng = random.Random(seed)
    parts, total, i = [], 0, 0
    while total < size:
        block = _TEXT_BLOCKS[rng.randrange(len(_TEXT_BLOCKS))]
        part = "<{}>{}".format(i, block[rng.randrange(len(block)):])  # numbered: no two pieces alike
        parts.append(part)
        total += len(part.encode())
        i += 1
    data = "".join(parts).encode()[:size].decode(errors="ignore")  # drop a character cut in half
    return data + "x" * (size - len(data.encode()))


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_echo(sent, got, what):
    check(type(got) is type(sent),
          "{}: sent {} and got {} back (the opcode changed)".format(what, type(sent).__name__, type(got).__name__))
    if got != sent:
        raise CheckFailed("{}: {} units sent, {} received, first difference at {}".format(
            what, len(sent), len(got), first_difference(sent, got)))


async def connect(args, **kw):
    if args.url.startswith("wss://"):
        kw["ssl"] = ssl.create_default_context(cafile=args.ca)
    ws = await websockets.connect(args.url, compression="deflate" if args.deflate else None, max_size=None,
                                  max_queue=None, ping_interval=None, open_timeout=10, close_timeout=10, **kw)
    CONNECTIONS.append(ws)
    names = [e.name for e in ws.extensions]
    if args.deflate:
        check("permessage-deflate" in names, "permessage-deflate was offered but not negotiated: "
              "Sec-WebSocket-Extensions = {!r}".format(ws.response_headers.get("Sec-WebSocket-Extensions")))
    else:
        check(not names, "extensions negotiated without being offered: {}".format(names))
    return ws


async def close_cleanly(ws):
    await ws.close(1000)
    check(ws.close_rcvd is not None and ws.close_rcvd.code == 1000,
          "the server answered our Close with {}".format(ws.close_rcvd))


async def scenario_messages(args):
    ws = await connect(args)
    for size in SIZES:
        for kind, make in (("text", text_payload), ("binary", binary_payload)):
            sent = make(size, size * 2 + (kind == "text"))
            started = time.monotonic()
            await ws.send(sent)
            got = await ws.recv()
            check_echo(sent, got, "{} message of {} B".format(kind, size))
            print("  {:6} {:>9} B echoed in {:.3f} s".format(kind, size, time.monotonic() - started))
    await close_cleanly(ws)


async def scenario_fragmented(args):
    ws = await connect(args)
    rng = random.Random(5)
    for total in (0, 1, 200, 70000, 3 << 20):
        for kind in ("text", "binary"):
            whole = text_payload(total, total + 1) if kind == "text" else binary_payload(total, total + 2)
            # Fragments of random sizes, an empty one among them (RFC 6455 §5.4 allows it).
            cuts = sorted(rng.randrange(0, total + 1) for _ in range(min(6, total + 1)))
            pieces, at = [], 0
            for c in cuts + [total]:
                pieces.append(whole[at:c])
                at = c
            pieces.insert(1, whole[:0])
            await ws.send(pieces)  # an iterable: one fragment per item
            got = await ws.recv()
            check_echo(whole, got, "{} message of {} B in {} fragments".format(kind, total, len(pieces)))
            print("  {:6} {:>8} B in {} fragments came back whole".format(kind, total, len(pieces)))
    await close_cleanly(ws)


async def scenario_pipelined(args):
    ws = await connect(args)
    rng = random.Random(9)
    sent = []
    for i in range(1000):
        size = rng.choice([0, 1, 10, 125, 126, 1000, 4000])
        sent.append(text_payload(size, i) if i % 2 else binary_payload(size, i))
    for m in sent:  # no waiting for echoes: the frames leave back to back
        await ws.send(m)
    for i, m in enumerate(sent):
        got = await asyncio.wait_for(ws.recv(), 20)
        check_echo(m, got, "pipelined message {}".format(i))
    print("  1000 pipelined messages came back in order")
    await close_cleanly(ws)


async def scenario_ping(args):
    ws = await connect(args)
    for payload in (b"", b"p", bytes(range(125))):
        waiter = await ws.ping(payload)  # websockets matches the pong by its payload
        await asyncio.wait_for(waiter, 5)
        print("  ping of {} B answered".format(len(payload)))
    # Pings between messages: every message still echoes, every ping is still answered.
    waiters = []
    for i in range(20):
        await ws.send("message {}".format(i))
        waiters.append(await ws.ping("ping {}".format(i).encode()))
    for i in range(20):
        check_echo("message {}".format(i), await asyncio.wait_for(ws.recv(), 5), "message between pings")
    await asyncio.wait_for(asyncio.gather(*waiters), 5)
    print("  20 pings between messages answered")
    await close_cleanly(ws)


async def scenario_close(args):
    ws = await connect(args)
    await ws.send("before closing")
    check_echo("before closing", await ws.recv(), "message before the close")
    started = time.monotonic()
    await ws.close(1000, "client done")
    took = time.monotonic() - started
    rcvd = ws.close_rcvd
    check(rcvd is not None, "no Close frame came back from the server")
    check(rcvd.code == 1000, "the server's Close said {}, not 1000".format(rcvd.code))
    check(ws.close_code == 1000, "close_code is {}".format(ws.close_code))
    print("  server answered 1000 with reason {!r}; TCP closed {:.3f} s after our Close".format(rcvd.reason, took))
    check(took < 5, "the closing handshake took {:.1f} s".format(took))


async def expect_closed_with(ws, code, what):
    try:
        got = await asyncio.wait_for(ws.recv(), 10)
        raise CheckFailed("{}: a message of {} units came instead of a Close".format(what, len(got)))
    except asyncio.TimeoutError:
        raise CheckFailed("{}: no Close from the server within 10 s".format(what)) from None
    except ConnectionClosed as e:
        check(e.rcvd is not None, "{}: the connection ended without a Close frame from the server".format(what))
        check(e.rcvd.code == code, "{}: the server closed with {} {!r}, not {}".format(what, e.rcvd.code, e.rcvd.reason, code))
        return e.rcvd.reason


async def scenario_too_big(args):
    limit = 65536
    ws = await connect(args)
    sent = binary_payload(limit, 1)
    await ws.send(sent)
    check_echo(sent, await ws.recv(), "a message of exactly --max-message bytes")
    await ws.send(binary_payload(limit + 1, 2))
    await expect_closed_with(ws, 1009, "one byte over --max-message")
    print("  {} B echoed, {} B closed with 1009".format(limit, limit + 1))
    # Fragments are limited by the whole message, not by each frame.
    ws = await connect(args)
    whole = text_payload(limit + 1, 3)
    await ws.send([whole[:40000], whole[40000:]])
    await expect_closed_with(ws, 1009, "fragments adding up to one byte over --max-message")
    print("  fragments adding up to {} B closed with 1009".format(limit + 1))


async def scenario_idle(args):
    ws = await connect(args)
    started = time.monotonic()
    reason = await expect_closed_with(ws, 1001, "an idle connection")
    took = time.monotonic() - started
    check(reason == "idle timeout", "the idle close gave the reason {!r}".format(reason))
    check(0.5 <= took <= 5, "closed after {:.2f} s of silence with --idle-timeout 1".format(took))
    print("  closed with 1001 {!r} after {:.2f} s".format(reason, took))


async def scenario_sigterm(args):
    pid = int(os.environ["RINGCAST_SERVER_PID"])
    clients = [await connect(args) for _ in range(3)]
    for i, ws in enumerate(clients):
        await ws.send("hello {}".format(i))
        check_echo("hello {}".format(i), await ws.recv(), "message before SIGTERM")
    os.kill(pid, signal.SIGTERM)
    for i, ws in enumerate(clients):
        reason = await expect_closed_with(ws, 1001, "client {} after SIGTERM".format(i))
        check(reason == "server shutting down", "SIGTERM closed with the reason {!r}".format(reason))
        await asyncio.wait_for(ws.wait_closed(), 10)
    print("  3 clients closed with 1001 'server shutting down'")


SCENARIOS = {
    "messages": scenario_messages,
    "fragmented": scenario_fragmented,
    "pipelined": scenario_pipelined,
    "ping": scenario_ping,
    "close": scenario_close,
    "too-big": scenario_too_big,
    "idle": scenario_idle,
    "sigterm": scenario_sigterm,
}


async def run_scenario(args):
    try:
        await asyncio.wait_for(SCENARIOS[args.scenario](args), SCENARIO_TIMEOUT_S)
    finally:
        for ws in CONNECTIONS:  # after a failure: no closing handshake to wait for
            if ws.transport is not None:
                ws.transport.abort()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--url", default=os.environ.get("RINGCAST_URL"))
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate and require it")
    parser.add_argument("--ca", help="wss://: trust the certificates in this PEM file")
    args = parser.parse_args()
    if not args.url:
        parser.error("no --url and no RINGCAST_URL")
    print("websockets {} against {}: {}{}".format(websockets.__version__, args.url, args.scenario,
                                                  " (permessage-deflate)" if args.deflate else ""))
    try:
        asyncio.run(run_scenario(args))
    except CheckFailed as e:
        print("FAILED: {}".format(e), file=sys.stderr)
        return 1
    except asyncio.TimeoutError:
        print("FAILED: the scenario did not finish within {} s".format(SCENARIO_TIMEOUT_S), file=sys.stderr)
        return 1
    except (ConnectionClosed, OSError) as e:
        print("FAILED: {}: {}".format(type(e).__name__, e), file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
