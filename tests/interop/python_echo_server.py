#!/usr/bin/python3
"""A WebSocket echo server built on Python's `websockets` (Debian python3-websockets): the peer the
ringcast client is tested against. Prints "listening on PORT" once ready; stops on SIGTERM/SIGINT.
With --tls-cert and --tls-key it serves wss://.

  /usr/bin/python3 tests/interop/python_echo_server.py --port 0
  /usr/bin/python3 tests/interop/python_echo_server.py --port 0 --tls-cert cert.pem --tls-key key.pem
"""
import argparse
import asyncio
import signal
import ssl

import websockets


async def echo(ws, path=None):
    try:
        async for message in ws:
            if message == "server-close":
                await ws.close(4000, "closed by the server")
                return
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--deflate", action="store_true", help="negotiate permessage-deflate")
    parser.add_argument("--tls-cert", help="PEM certificate: serve wss://")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    args = parser.parse_args()
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, "127.0.0.1", args.port, max_size=32 * 1024 * 1024,
                                compression="deflate" if args.deflate else None, ssl=context) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on {port}", flush=True)
        await stop


asyncio.run(main())
