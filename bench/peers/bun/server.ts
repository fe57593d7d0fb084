// Bun peer server: the bench protocol (bench/peers/README.md) on Bun.serve, whose WebSockets and
// pub/sub are uWebSockets inside.
//
//   GET /health      plain HTTP, answers "ok"
//   GET /room/NAME   WebSocket; every message a member sends goes to every member of NAME, sender
//                    included, same opcode, in the order the server received them
//   GET /any/other   WebSocket echo, same opcode
//
//   bun server.ts [--port P] [--threads N] [--deflate]
//     --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//     --threads N   N processes sharing the port (SO_REUSEPORT; the kernel spreads connections), the
//                   way Bun uses several cores (default 1). Echo only: a Bun topic lives in one
//                   process, so with N > 1 a room request is refused with 501 rather than served by
//                   a room that misses the other processes' members
//     --deflate     negotiate permessage-deflate (default off)
//   example: bun server.ts --port 9001
//
// Prints "listening on PORT" once every process accepts; SIGINT/SIGTERM exit 0 (the first process
// ends the others).
//
// Rooms are Bun topics: a member subscribes in open(), which runs right after the handshake
// response is written, and a message is published with server.publish(), which reaches every
// subscriber including the sender (ws.publish() would skip the sender).
// Backpressure is Bun's own: a member with more than kMaxBufferedBytes unsent is closed
// (backpressureLimit + closeOnBackpressureLimit).

import { parseArgs } from 'node:util';

const kMaxMessageBytes = 16 * 1024 * 1024;
const kMaxBufferedBytes = 16 * 1024 * 1024;
const kRoomPrefix = '/room/';

const usage = `usage: bun server.ts [--port P] [--threads N] [--deflate]
  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
  --threads N   N processes sharing the port, echo only (default 1)
  --deflate     negotiate permessage-deflate (default off)
example: bun server.ts --port 9001`;

function options(): { port: number; threads: number; deflate: boolean; worker: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: Bun.argv.slice(2),
      options: {
        port: { type: 'string', default: '9001' },
        threads: { type: 'string', default: '1' },
        deflate: { type: 'boolean', default: false },
        worker: { type: 'boolean', default: false },  // internal: started by the first process
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const port = Number(values.port);
  const threads = Number(values.threads);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(threads) || threads < 1 || threads > 64) {
    console.error(usage);
    process.exit(2);
  }
  return { port, threads, deflate: values.deflate as boolean, worker: values.worker as boolean };
}

const { port, threads, deflate, worker } = options();

type Member = { room: string | null };

const server = Bun.serve<Member>({
  hostname: '0.0.0.0',
  port,
  reusePort: threads > 1,
  fetch(req, server) {
    const path = new URL(req.url).pathname;
    if (path === '/health') return new Response('ok');
    const room = path.startsWith(kRoomPrefix) ? path.slice(kRoomPrefix.length) : null;
    if (room !== null && threads > 1) {
      return new Response('rooms need --threads 1: a Bun topic lives in one process\n', { status: 501 });
    }
    if (server.upgrade(req, { data: { room } })) return undefined;
    return new Response('upgrade required', { status: 426 });
  },
  websocket: {
    maxPayloadLength: kMaxMessageBytes,
    backpressureLimit: kMaxBufferedBytes,
    closeOnBackpressureLimit: true,
    perMessageDeflate: deflate,
    open(ws) {
      if (ws.data.room !== null) ws.subscribe(ws.data.room);
    },
    message(ws, message) {
      const room = ws.data.room;
      if (room === null) ws.send(message);
      else server.publish(room, message);
    },
  },
});

// The first process starts the others on the port it got, and says it listens once they all do.
const others = [];
if (!worker) {
  for (let i = 1; i < threads; ++i) {
    const args = [process.execPath, import.meta.path, '--port', String(server.port), '--threads', String(threads), '--worker'];
    if (deflate) args.push('--deflate');
    const child = Bun.spawn(args, { stdout: 'pipe', stderr: 'inherit' });
    others.push(child);
    const reader = child.stdout.getReader();
    let seen = '';
    while (!seen.includes('listening on')) {
      const { value, done } = await reader.read();
      if (done) {
        console.error(`process ${i + 1} of ${threads} did not start`);
        for (const o of others) o.kill();
        process.exit(1);
      }
      seen += new TextDecoder().decode(value);
    }
    reader.releaseLock();
  }
}

async function shutdown() {
  server.stop(true);
  for (const o of others) o.kill('SIGTERM');
  await Promise.all(others.map((o) => o.exited));
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

console.log(`listening on ${server.port}`);
