#!/usr/bin/python3
"""Writes the seed corpus of the whole-server fuzz target (tests/fuzz/corpus/whole_server/): one script
per input class of the hostile-input regression tests (tests/ws/hostile, tests/net/http), in the
target's format (tests/fuzz/whole_server_fuzz.cpp). Deterministic: the same files each run.

  tests/fuzz/make_whole_server_corpus.py
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "whole_server")
MASK = b"\x11\x22\x33\x44"


def connect():
    return b"\x00"


def send(data, peer=0):
    """op 1: the peer sends `data` (in pieces of at most 65,535 bytes)."""
    out = b""
    for i in range(0, max(len(data), 1), 0xFFFF):
        piece = data[i:i + 0xFFFF]
        out += bytes([1 | (peer << 3)]) + struct.pack("<H", len(piece)) + piece
    return out


def drip(data, peer=0):
    """op 7: a byte at a time."""
    return b"".join(bytes([7 | (peer << 3), b]) for b in data)


def fin(peer=0):
    return bytes([2 | (peer << 3)])


def stop_reading(peer=0):
    return bytes([4 | (peer << 3)])


def start_reading(peer=0):
    return bytes([5 | (peer << 3)])


def upgrade(path="/echo", extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode()


DEFLATE = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"


def frame(opcode, payload=b"", fin_bit=True, rsv=0, masked=True, length=None):
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin_bit else 0) | rsv | opcode])
    m = 0x80 if masked else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack(">H", n)
    else:
        head += bytes([m | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + MASK + bytes(b ^ MASK[i % 4] for i, b in enumerate(payload))


def deflated(data):
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]  # RFC 7692 §7.2.1: without the empty block's last four bytes


def fragments(opcode, payload, count, rsv=0x40):
    step = max(1, (len(payload) + count - 1) // count)
    pieces = [payload[i:i + step] for i in range(0, len(payload), step)] or [b""]
    return b"".join(frame(opcode if i == 0 else 0, p, fin_bit=i == len(pieces) - 1, rsv=rsv if i == 0 else 0)
                    for i, p in enumerate(pieces))


def close(code=1000):
    return frame(8, struct.pack(">H", code))


def seeds():
    s = {}
    s["echo"] = connect() + send(upgrade() + frame(1, b"hello") + frame(2, b"\x00\x01") + frame(9, b"p") + close())
    s["echo_deflate"] = connect() + send(upgrade(extra=DEFLATE) + frame(1, deflated(b"hello " * 50), rsv=0x40)
                                         + fragments(2, deflated(b"x" * 4000), 4) + close())
    s["bomb_fragments"] = connect() + send(upgrade(extra=DEFLATE) + fragments(2, deflated(bytes(1 << 20)), 16))
    s["bomb_takeover"] = connect() + send(upgrade(extra=DEFLATE) + frame(2, deflated(bytes(60000)), rsv=0x40) * 3)
    s["one_byte_fragments"] = connect() + send(upgrade() + frame(2, b"a", fin_bit=False)
                                               + b"".join(frame(0, b"b", fin_bit=False) for _ in range(1500)))
    s["fragments_over_limit"] = connect() + send(upgrade() + fragments(2, b"z" * (65 << 10), 20, rsv=0))
    s["length_top_bit"] = connect() + send(upgrade() + b"\x82\xff" + b"\x80" + b"\x00" * 7 + MASK)
    s["length_truncated"] = connect() + send(upgrade() + b"\x82\xff\x00\x00\x00\x00\x00\x01\x00")
    s["rsv_bits"] = connect() + send(upgrade() + frame(1, b"x", rsv=0x70))
    s["unmasked"] = connect() + send(upgrade() + frame(1, b"unmasked", masked=False))
    s["bad_opcode"] = connect() + send(upgrade() + frame(3, b"x") + frame(11, b""))
    s["control_fragmented"] = connect() + send(upgrade() + frame(9, b"p", fin_bit=False))
    s["control_oversized"] = connect() + send(upgrade() + frame(9, b"p" * 126))
    s["continuation_first"] = connect() + send(upgrade() + frame(0, b"c"))
    s["close_then_garbage"] = connect() + send(upgrade() + close() + b"\xff" * 16384)
    s["close_bad_code"] = connect() + send(upgrade() + frame(8, struct.pack(">H", 1005)) + frame(8, b"\x03"))
    s["text_invalid_utf8"] = connect() + send(upgrade() + frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"))
    s["headers_101"] = connect() + send(("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                         + "".join(f"X-{i}: v\r\n" for i in range(95)) + "\r\n").encode())
    s["headers_2500_upgrade_last"] = connect() + send(("GET /echo HTTP/1.1\r\nHost: x\r\n" + "".join(f"A{i}: b\r\n" for i in range(2500))
                                                        + "Upgrade: websocket\r\n\r\n").encode())
    s["protocol_commas"] = connect() + send(upgrade(extra="Sec-WebSocket-Protocol: " + ", " * 8000 + "chat\r\n"))
    s["extensions_commas"] = connect() + send(upgrade(extra="Sec-WebSocket-Extensions: " + " ,;" * 5000 + "permessage-deflate\r\n"))
    s["content_length_twice"] = connect() + send(b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
    s["upgrade_with_body"] = connect() + send(upgrade(extra="Content-Length: 6\r\n") + frame(1, b""))
    s["empty_host"] = connect() + send(b"GET / HTTP/1.1\r\nHost: \r\n\r\n")
    s["pipelined_not_reading"] = connect() + stop_reading() + send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 800) + start_reading()
    s["metrics_pipelined"] = connect() + send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    s["chunked_one_byte"] = connect() + send(b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                             + b"1\r\na\r\n" * 3000 + b"0\r\n\r\n")
    s["chunked_extensions"] = connect() + send(b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                               + b"1;" + b"e" * 1000 + b"\r\na\r\n" + b"0\r\n\r\n")
    s["head_dripped"] = connect() + drip(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"y" * 300 + b"\r\n\r\n")
    s["http_fin"] = connect() + send(b"GET / HTTP/1.1\r\nHost: x\r\n") + fin()
    s["room_fanout_slow_member"] = (connect() + send(upgrade("/room/a", DEFLATE)) + connect() + send(upgrade("/room/a"), 1)
                                    + stop_reading(1) + send(frame(2, deflated(bytes(60000)), rsv=0x40) * 4)
                                    + send(frame(1, b"to the room")) + start_reading(1) + send(close(), 1))
    s["room_leave_and_rejoin"] = (connect() + send(upgrade("/room/b")) + connect() + send(upgrade("/room/b"), 1)
                                  + send(frame(1, b"one")) + fin(1) + connect() + send(upgrade("/room/b"), 2) + send(frame(1, b"two")))
    s["auth_pending"] = connect() + send(upgrade("/auth") + frame(1, b"x" * 5000))
    s["auth_then_messages"] = connect() + send(upgrade("/auth") + frame(1, b"token") + frame(2, b"y" * 20000) + close())
    s["client_never_answers_close"] = connect() + send(upgrade() + frame(1, b"bye")) + stop_reading() + send(frame(2, b"w" * 30000) * 2)
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds())} seeds in {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
