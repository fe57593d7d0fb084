// Bun peer server: the bench protocol (bench/peers/README.md) on Bun.serve, whose WebSockets and
// pub/sub are uWebSockets inside.
//
//   GET /health      plain HTTP, answers "ok"
//   GET /room/NAME   WebSocket; every message a member sends goes to every member of NAME, sender
//                    included, same opcode, in the order the server received them
//   GET /any/other   WebSocket echo, same opcode
//
//   bun server.ts [--port P] [--threads 1] [--deflate]
//     --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//     --threads 1   accepted for a uniform command line; one process is one event loop
//     --deflate     negotiate permessage-deflate (default off)
//   example: bun server.ts --port 9001
//
// Prints "listening on PORT" once accepting; SIGINT/SIGTERM exit 0.
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

const usage = `usage: bun server.ts [--port P] [--threads 1] [--deflate]
  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
  --threads 1   one process is one event loop; other values are refused
  --deflate     negotiate permessage-deflate (default off)
example: bun server.ts --port 9001`;

function options(): { port: number; deflate: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: Bun.argv.slice(2),
      options: {
        port: { type: 'string', default: '9001' },
        threads: { type: 'string', default: '1' },
        deflate: { type: 'boolean', default: false },
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
  if (!Number.isInteger(port) || port < 0 || port > 65535 || values.threads !== '1') {
    console.error(usage);
    process.exit(2);
  }
  return { port, deflate: values.deflate as boolean };
}

const { port, deflate } = options();

type Member = { room: string | null };

const server = Bun.serve<Member>({
  hostname: '0.0.0.0',
  port,
  fetch(req, server) {
    const path = new URL(req.url).pathname;
    if (path === '/health') return new Response('ok');
    const room = path.startsWith(kRoomPrefix) ? path.slice(kRoomPrefix.length) : null;
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

function shutdown() {
  server.stop(true);
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

console.log(`listening on ${server.port}`);
