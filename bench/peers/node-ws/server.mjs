// node `ws` peer server: the bench protocol (bench/peers/README.md) on node:http and ws.
//
//   GET /health      plain HTTP, answers "ok"
//   GET /room/NAME   WebSocket; every message a member sends goes to every member of NAME, sender
//                    included, same opcode, in the order the server received them
//   GET /any/other   WebSocket echo, same opcode
//
//   node server.mjs [--port P] [--threads 1] [--deflate]
//     --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//     --threads 1   accepted for a uniform command line; one process is one thread of JavaScript
//     --deflate     negotiate permessage-deflate (default off)
//   example: node server.mjs --port 9001
//
// Prints "listening on PORT" once accepting; SIGINT/SIGTERM exit 0.
//
// ws uses bufferutil (native masking, from its prebuilt binary) when it is installed; it validates
// UTF-8 with node's own buffer.isUtf8, so utf-8-validate would go unused on node >= 18.14.
//
// Backpressure: ws has no limit of its own, so a member whose bufferedAmount (bytes queued in ws
// and in the socket) is above kMaxBufferedBytes when a message is published is terminated instead.

import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { parseFlags } from '../flags.mjs';

const kMaxMessageBytes = 16 * 1024 * 1024;
const kMaxBufferedBytes = 16 * 1024 * 1024;
const kRoomPrefix = '/room/';
const kText = { binary: false };
const kBinary = { binary: true };

const usage = `usage: node server.mjs [--port P] [--threads 1] [--deflate]
  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
  --threads 1   one process is one thread of JavaScript; other values are refused
  --deflate     negotiate permessage-deflate (default off)
example: node server.mjs --port 9001`;

function options() {
  const values = parseFlags({
    port: { type: 'string', default: '9001' },
    threads: { type: 'string', default: '1' },
    deflate: { type: 'boolean', default: false },
  }, usage);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || values.threads !== '1') {
    console.error(usage);
    process.exit(2);
  }
  return { port, deflate: values.deflate };
}

const { port, deflate } = options();

// Room name → set of members. A member joins in the upgrade callback, which runs right after ws
// writes the handshake response, so a client that has seen 101 receives every later publish.
const rooms = new Map();

function serveEcho(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, isBinary ? kBinary : kText));
}

function serveRoom(ws, name) {
  let members = rooms.get(name);
  if (members === undefined) {
    members = new Set();
    rooms.set(name, members);
  }
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    const opts = isBinary ? kBinary : kText;
    for (const member of members) {
      if (member.readyState !== WebSocket.OPEN) continue;
      if (member.bufferedAmount > kMaxBufferedBytes) {
        member.terminate();
        continue;
      }
      member.send(data, opts);
    }
  });
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0 && rooms.get(name) === members) rooms.delete(name);
  });
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  res.writeHead(426, { 'content-type': 'text/plain' });
  res.end('upgrade required');
});

const wss = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  maxPayload: kMaxMessageBytes,
  perMessageDeflate: deflate,
});

server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => {
    // A peer-caused error (oversized message, invalid UTF-8 …) closes the connection; without a
    // listener it would be thrown.
    ws.on('error', () => {});
    const query = req.url.indexOf('?');
    const path = query < 0 ? req.url : req.url.slice(0, query);
    if (path.startsWith(kRoomPrefix)) serveRoom(ws, path.slice(kRoomPrefix.length));
    else serveEcho(ws);
  });
});

function shutdown() {
  server.close();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on ${server.address().port}`);
});
