"""Checks one running peer server against the bench protocol (bench/peers/README.md).

    /usr/bin/python3 bench/peers/smoke_client.py PORT [--deflate]

Without --deflate the server must refuse permessage-deflate; with it, it must negotiate it and every
check runs compressed. Checks: GET /health, echo of text and binary messages (0 B, 1 B, 64 KiB,
1 MiB, and 16 MiB binary uncompressed) with their opcode kept, pipelined echo order, a room of three
members where every member receives every message (its own included) in one common order that keeps
each sender's order, a member leaving, and a clean close (the server answers 1000). Prints what
failed and exits 1 on the first failure.
"""

import asyncio
import os
import sys
import urllib.request

import websockets

TIMEOUT = 20.0
KIB = 1024
MIB = 1024 * KIB
MAX_SIZE = 17 * MIB


class Failure(Exception):
    pass


def expect(condition, what):
    if not condition:
        raise Failure(what)


def text_of(size):
    """A str whose UTF-8 encoding is exactly `size` bytes, with 1- to 4-byte characters."""
    unit = "é€😀x"  # 2 + 3 + 4 + 1 bytes
    return unit * (size // 10) + "x" * (size % 10)


def describe(message):
    kind = "text" if isinstance(message, str) else "binary"
    return f"{kind} {len(message.encode() if isinstance(message, str) else message)} B"


async def receive(ws, what):
    try:
        return await asyncio.wait_for(ws.recv(), TIMEOUT)
    except asyncio.TimeoutError:
        raise Failure(f"{what}: nothing received within {TIMEOUT:.0f} s") from None
    except websockets.ConnectionClosed as closed:
        raise Failure(f"{what}: connection closed ({closed})") from None


async def connect(port, path):
    return await websockets.connect(
        f"ws://127.0.0.1:{port}{path}", max_size=MAX_SIZE, ping_interval=None,
        open_timeout=TIMEOUT, close_timeout=TIMEOUT)


async def close_cleanly(ws, what):
    await ws.close(code=1000)
    expect(ws.close_code == 1000,
           f"{what}: server answered the close with {ws.close_code}, expected 1000")


def check_health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=TIMEOUT) as response:
        body = response.read().decode()
        expect(response.status == 200 and body.strip() == "ok",
               f"/health answered {response.status} {body!r}")


async def check_compression(port, deflate):
    ws = await connect(port, "/echo")
    negotiated = [e.name for e in ws.extensions]
    if deflate:
        expect(negotiated == ["permessage-deflate"],
               f"--deflate: negotiated {negotiated}, expected permessage-deflate")
    else:
        expect(negotiated == [], f"no --deflate: negotiated {negotiated}, expected none")
    await close_cleanly(ws, "compression check")


async def check_echo(port, deflate):
    ws = await connect(port, "/echo")
    messages = []
    for size in (0, 1, 64 * KIB, MIB):
        messages += [text_of(size), os.urandom(size)]
    if not deflate:
        messages.append(os.urandom(16 * MIB))
    for message in messages:
        await ws.send(message)
        echoed = await receive(ws, f"echo of {describe(message)}")
        expect(type(echoed) is type(message) and echoed == message,
               f"echo of {describe(message)} came back as {describe(echoed)} or changed")
    pipelined = [f"text {i}" if i % 2 == 0 else bytes([i]) * i for i in range(40)]
    for message in pipelined:
        await ws.send(message)
    for i, message in enumerate(pipelined):
        echoed = await receive(ws, f"pipelined echo {i}")
        expect(type(echoed) is type(message) and echoed == message,
               f"pipelined echo {i}: expected {describe(message)}, got {describe(echoed)}")
    await close_cleanly(ws, "echo")

    other = await connect(port, "/some/other/path")
    await other.send("any path outside /room/ echoes")
    expect(await receive(other, "echo on another path") == "any path outside /room/ echoes",
           "a path outside /room/ did not echo")
    await close_cleanly(other, "echo on another path")


async def check_room(port):
    room = f"/room/smoke-{os.urandom(4).hex()}"
    members = [await connect(port, room) for _ in range(3)]
    per_member = 5

    def message(sender, i):
        if i == per_member - 1:
            return bytes([sender]) * (64 * KIB)
        return f"from {sender} #{i}" if i % 2 == 0 else bytes([sender, i]) * 3

    sent = {(s, i): message(s, i) for s in range(3) for i in range(per_member)}

    async def publish(sender):
        for i in range(per_member):
            await members[sender].send(sent[(sender, i)])

    async def collect(member):
        return [await receive(members[member], f"room member {member}, message {n}")
                for n in range(3 * per_member)]

    collectors = [asyncio.create_task(collect(m)) for m in range(3)]
    await asyncio.gather(*(publish(s) for s in range(3)))
    received = await asyncio.gather(*collectors)

    expected = sorted((type(m).__name__, m) for m in sent.values())
    for member, got in enumerate(received):
        expect(sorted((type(m).__name__, m) for m in got) == expected,
               f"room member {member} did not receive exactly every message (its own included)")
        for sender in range(3):
            order = [m for m in got if m in [sent[(sender, i)] for i in range(per_member)]]
            expect(order == [sent[(sender, i)] for i in range(per_member)],
                   f"room member {member} saw sender {sender}'s messages out of order")
    expect(received[0] == received[1] == received[2],
           "room members saw the messages in different orders")

    await close_cleanly(members[2], "room member leaving")
    await members[0].send("after a member left")
    for member in (0, 1):
        got = await receive(members[member], f"room member {member} after a member left")
        expect(got == "after a member left", f"room member {member} got {describe(got)}")
    for member in (0, 1):
        await close_cleanly(members[member], f"room member {member}")


async def main():
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--deflate"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    port = int(sys.argv[1])
    deflate = len(sys.argv) == 3
    try:
        check_health(port)
        await check_compression(port, deflate)
        await check_echo(port, deflate)
        await check_room(port)
    except (Failure, OSError, websockets.WebSocketException) as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
