#!/usr/bin/python3
"""Runs one interop client against its own ringcast-echo, then stops the server and checks its exit.

    run_echo.py --server build/bin/ringcast-echo --backend epoll [--server-arg=--max-message=65536]
                [--client-stops-server] [--timeout 120] -- CLIENT [ARGS...]

The server listens on 127.0.0.1, port 0; its "listening on ADDRESS:PORT" log line gives the port. The
client gets the server's URL in RINGCAST_URL (ws://127.0.0.1:PORT/echo) and its process id in
RINGCAST_SERVER_PID. After the client, the server gets SIGTERM (unless the client already sent it:
--client-stops-server) and must exit with status 0 within the stop timeout. Exit status: 0 when the
client and the server both succeeded; the server's log is printed whenever something failed.

Nothing outlives the driver: the server dies with it (PR_SET_PDEATHSIG), every wait is bounded, and a
client that runs past --timeout is killed and counts as failed.
"""
import argparse
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time

START_TIMEOUT_S = 10
STOP_TIMEOUT_S = 15
LISTENING = re.compile(rb"listening on (\S+):(\d+)")


def die_with_parent():
    # PR_SET_PDEATHSIG = 1: the server gets SIGKILL if the driver dies first (killed by a ctest timeout).
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


class Server:
    def __init__(self, argv):
        self.argv = argv
        self.log = []
        self.port = None
        self._ready = threading.Event()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=die_with_parent)
        # Reads the log for as long as the server runs, so a chatty server never blocks on a full pipe.
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self):
        for line in self.proc.stderr:
            self.log.append(line.decode(errors="replace").rstrip("\n"))
            m = LISTENING.search(line)
            if m and self.port is None:
                self.port = int(m.group(2))
                self._ready.set()
        self._ready.set()  # the server exited: stop waiting for its port

    def wait_listening(self):
        self._ready.wait(START_TIMEOUT_S)
        return self.port

    def stop(self, send_signal):
        """SIGTERM (if asked) and a bounded wait; returns the exit status, or None when it had to be killed."""
        if send_signal and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._reader.join(5)
        return rc

    def print_log(self):
        print("---- server log ({}) ----".format(" ".join(self.argv)), file=sys.stderr)
        for line in self.log[-200:]:
            print(line, file=sys.stderr)
        print("---- end of server log ----", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="path of ringcast-echo")
    parser.add_argument("--backend", default="auto", help="io_uring, epoll or auto")
    parser.add_argument("--shards", default="2")
    parser.add_argument("--server-arg", action="append", default=[], help="one more server flag (repeatable)")
    parser.add_argument("--client-stops-server", action="store_true",
                        help="the client sends SIGTERM itself; only wait for the server to exit")
    parser.add_argument("--timeout", type=float, default=120, help="seconds the client may run")
    parser.add_argument("client", nargs=argparse.REMAINDER, help="-- CLIENT [ARGS...]")
    args = parser.parse_args()
    client = args.client[1:] if args.client[:1] == ["--"] else args.client
    if not client:
        parser.error("no client command after --")

    argv = [args.server, "--host", "127.0.0.1", "--port", "0", "--shards", args.shards,
            "--backend", args.backend] + args.server_arg
    server = Server(argv)
    ok = True
    try:
        port = server.wait_listening()
        if port is None:
            print("run_echo: the server did not say it was listening within {} s".format(START_TIMEOUT_S),
                  file=sys.stderr)
            ok = False
        else:
            env = dict(os.environ, RINGCAST_URL="ws://127.0.0.1:{}/echo".format(port),
                       RINGCAST_SERVER_PID=str(server.proc.pid))
            started = time.monotonic()
            try:
                rc = subprocess.run(client, env=env, stdin=subprocess.DEVNULL, timeout=args.timeout).returncode
            except subprocess.TimeoutExpired:
                print("run_echo: the client ran past {} s and was killed".format(args.timeout), file=sys.stderr)
                rc = -1
            print("run_echo: client exited {} after {:.2f} s".format(rc, time.monotonic() - started))
            ok = rc == 0
    finally:
        running = server.proc.poll() is None
        if not args.client_stops_server and not running:
            print("run_echo: the server exited before it was told to stop", file=sys.stderr)
            ok = False
        # A client that failed before it could send SIGTERM leaves the server to us.
        rc = server.stop(send_signal=not args.client_stops_server or not ok)
        if rc is None:
            print("run_echo: the server did not exit within {} s of SIGTERM".format(STOP_TIMEOUT_S),
                  file=sys.stderr)
            ok = False
        elif rc != 0:
            print("run_echo: the server exited with status {}".format(rc), file=sys.stderr)
            ok = False
        if not ok:
            server.print_log()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
