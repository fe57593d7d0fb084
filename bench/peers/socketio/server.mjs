// Socket.IO peer server: rooms across node processes through Redis, the way Socket.IO's documentation
// sets it up (socket.io 4 with @socket.io/redis-adapter 8 on node-redis 4), for cluster_bench.
//
//   GET /health                     plain HTTP, answers "ok"
//   /socket.io/?room=NAME           a Socket.IO connection (WebSocket transport) that joins room NAME;
//                                   every "m" event a member emits is emitted to every member of
//                                   NAME on every process, sender included (io.to(NAME).emit)
//
//   node server.mjs [--port P] [--redis URL]
//     --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//     --redis URL   share rooms with the other processes on this Redis through the Redis adapter
//                   (default: none, one process with Socket.IO's in-memory adapter)
//   example: node server.mjs --port 9101 --redis redis://127.0.0.1:6379
//
// Prints "listening on PORT" once accepting (with --redis, once both Redis connections are up);
// SIGINT/SIGTERM exit 0.
//
// As Socket.IO's performance notes advise: WebSocket transport only (no long-polling upgrade, so no
// sticky sessions are needed), bufferutil installed for ws's masking, permessage-deflate off (its
// default). The adapter publishes each room broadcast once on the Redis channel of the room
// (PUBLISH), and every process receives it through one pattern subscription (PSUBSCRIBE).
// Backpressure: Socket.IO has no limit of its own; a member that does not read is buffered for.

import http from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { parseFlags } from '../flags.mjs';

const usage = `usage: node server.mjs [--port P] [--redis URL]
  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
  --redis URL   share rooms with other processes on this Redis (default: none, one process)
example: node server.mjs --port 9101 --redis redis://127.0.0.1:6379`;

function options() {
  const values = parseFlags({
    port: { type: 'string', default: '9001' },
    redis: { type: 'string', default: '' },
  }, usage);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(usage);
    process.exit(2);
  }
  return { port, redis: values.redis };
}

const { port, redis } = options();

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
});

const io = new Server(server, { transports: ['websocket'], serveClient: false });

if (redis !== '') {
  const pub = createClient({ url: redis });
  const sub = pub.duplicate();
  // A lost Redis connection is reconnected by node-redis; without a listener its error would be thrown.
  pub.on('error', (err) => console.error(`redis: ${err.message}`));
  sub.on('error', (err) => console.error(`redis: ${err.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room !== 'string' || room === '') return;
  socket.join(room);
  socket.on('m', (data) => io.to(room).emit('m', data));
});

function shutdown() {
  io.close();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on ${server.address().port}`);
});
