#!/usr/bin/python3
"""Measures ringcast-chat: login cost, message latency, server CPU per delivered message, and memory
per idle connection. Starts the server itself (with a users file of cheap hashes, so that logging in
many clients costs little; the login figure uses the compiled-in demo users and their real cost).

  apps/chat/measure.py build/bin/ringcast-chat                 # 2 shards, 100 members, 1000 idle
  apps/chat/measure.py build/bin/ringcast-chat --shards 4 --members 200 --messages 2000 --idle 2000

The clients are Python (python3-websockets), so throughput here is the clients' limit; the figures to
read are the server's CPU time per delivery (from /proc) and its resident memory per connection.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets


def phc(password, ln=10):
    salt = os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=1 << ln, r=8, p=1, maxmem=1 << 26, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode().rstrip('=')
    return f'$scrypt$ln={ln},r=8,p=1${b64(salt)}${b64(key)}'


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return -1


def start(binary, args):
    proc = subprocess.Popen([binary, '--host', '127.0.0.1', '--port', '0', '--log', 'warn', *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if line.startswith('open http://'):
            return proc, int(line.split(':')[2].split('/')[0])
    raise RuntimeError('the server did not start')


def login(port, user, password):
    req = urllib.request.Request(f'http://127.0.0.1:{port}/login', method='POST',
                                 data=json.dumps({'username': user, 'password': password}).encode())
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())['otp']


async def connect(port, user, password='pw'):
    ws = await websockets.connect(f'ws://127.0.0.1:{port}/ws?otp={login(port, user, password)}', max_queue=None)
    first = json.loads(await ws.recv())
    assert first['type'] == 'room_changed'
    return ws


async def join(ws, room):
    await ws.send(json.dumps({'type': 'change_room', 'payload': {'name': room}}))
    while json.loads(await ws.recv())['type'] != 'room_changed':
        pass


def send(ws, text):
    return ws.send(json.dumps({'type': 'send_message', 'payload': {'message': text}}))


async def until_message(ws, text):
    while True:
        m = json.loads(await ws.recv())
        if m['type'] == 'new_message' and m['payload']['message'] == text:
            return


async def measure(args, port, pid):
    # Latency: one message at a time, from send to the sender's own copy, in a room of two.
    pair = [await connect(port, 'user0'), await connect(port, 'user1')]
    for ws in pair:
        await join(ws, 'pair')
    rtts = []
    for i in range(500):
        t = time.perf_counter()
        await send(pair[0], f'ping {i}')
        await until_message(pair[0], f'ping {i}')
        rtts.append((time.perf_counter() - t) * 1e6)
    rtts.sort()
    print(f'latency (send to own copy, 2 members): median {statistics.median(rtts):.0f} us, '
          f'p99 {rtts[int(len(rtts) * 0.99)]:.0f} us')
    for ws in pair:
        await ws.close()

    # The same with many members (the Python clients read every copy, so this is mostly their time).
    members = [await connect(port, f'user{i % 50}') for i in range(args.members)]
    for ws in members:
        await join(ws, 'bench')
    sender = members[0]
    rtts = []
    for i in range(200):
        t = time.perf_counter()
        await send(sender, f'ping {i}')
        await until_message(sender, f'ping {i}')
        rtts.append((time.perf_counter() - t) * 1e6)
    for ws in members[1:]:
        await until_message(ws, 'ping 199')
    rtts.sort()
    print(f'latency (send to own copy, {args.members} members): median {statistics.median(rtts):.0f} us, '
          f'p99 {rtts[int(len(rtts) * 0.99)]:.0f} us')

    # Fan-out: the sender sends a burst; every member reads all of it. Server CPU per delivery.
    text = 'x' * args.size
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    for i in range(args.messages):
        await send(sender, f'{text} {i}')
    await asyncio.gather(*(until_message(ws, f'{text} {args.messages - 1}') for ws in members))
    cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - t0
    deliveries = args.messages * args.members
    print(f'fan-out: {args.messages} messages x {args.members} members = {deliveries} deliveries in {wall:.2f} s; '
          f'server CPU {cpu:.2f} s = {cpu / deliveries * 1e6:.2f} us per delivery '
          f'({cpu / args.messages * 1e6:.0f} us per message sent)')
    for ws in members:
        await ws.close()

    # Memory: idle connections in the lobby (one user, so no presence traffic). A first batch warms
    # the pools (receive buffers, output blocks, allocator arenas); the second shows the cost of one
    # more connection.
    idle = []
    for batch in ('first', 'second'):
        await asyncio.sleep(0.5)
        before = rss_kib(pid)
        for _ in range(args.idle):
            idle.append(await connect(port, 'idle'))
        await asyncio.sleep(0.5)
        after = rss_kib(pid)
        print(f'memory: a {batch} {args.idle} idle connections add {after - before} KiB of RSS = '
              f'{(after - before) * 1024 / args.idle:.0f} bytes each')
    for ws in idle:
        await ws.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('binary')
    p.add_argument('--shards', type=int, default=2)
    p.add_argument('--members', type=int, default=100)
    p.add_argument('--messages', type=int, default=1000)
    p.add_argument('--size', type=int, default=64, help='bytes of text per message')
    p.add_argument('--idle', type=int, default=1000)
    args = p.parse_args()

    # Login with the demo users' real hashes (scrypt ln=15).
    proc, port = start(args.binary, ['--shards', str(args.shards)])
    try:
        times = []
        for _ in range(10):
            t = time.perf_counter()
            login(port, 'alice', 'secret')
            times.append((time.perf_counter() - t) * 1000)
        print(f'login (scrypt ln=15 r=8 p=1): median {statistics.median(times):.0f} ms')
    finally:
        proc.terminate()
        proc.wait()

    with tempfile.TemporaryDirectory() as tmp:
        users = os.path.join(tmp, 'users.txt')
        with open(users, 'w') as f:
            for i in range(50):
                f.write(f'user{i}:{phc("pw")}\n')
            f.write(f'idle:{phc("pw")}\n')
        proc, port = start(args.binary, ['--shards', str(args.shards), '--users', users])
        try:
            asyncio.run(measure(args, port, proc.pid))
        finally:
            proc.terminate()
            status = proc.wait()
    sys.exit(0 if status == 0 else 1)


if __name__ == '__main__':
    main()
