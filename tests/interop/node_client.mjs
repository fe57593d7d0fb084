#!/usr/bin/env node
// Interop client: node `ws` (the version locked in package-lock.json) against ringcast-echo.
//
//   node node_client.mjs SCENARIO [--url ws://127.0.0.1:9001/echo] [--deflate]
//
// The URL defaults to $RINGCAST_URL (set by run_echo.py). --deflate offers permessage-deflate
// (RFC 7692) and fails unless the server accepts it; without it, no extension is offered. Scenarios:
//
//   messages     text and binary of 0 B, 1, 125, 126, 65535, 65536 B, 1 MiB and 16 MiB echo byte for
//                byte with their opcode
//   fragmented   messages sent in fragments (some empty, text cut inside a UTF-8 character, a ping
//                between two fragments) come back whole
//   pipelined    1,000 messages sent in one go come back complete and in order
//   ping         pings of 0, 1 and 125 bytes are answered with the same payload, also between messages
//   close        a clean close: the client sends 1000 and sees the server's Close with 1000
//   too-big      with --max-message 65536 on the server: 65,536 B echo, 65,537 B (whole or in
//                fragments) end the connection with 1009
//   idle         with --idle-timeout 1 on the server: the server closes with 1001 "idle timeout"
//   sigterm      SIGTERM to the server ($RINGCAST_SERVER_PID) closes every client with 1001
//                "server shutting down"
//
// Exit status 0 when every check passed; a failed check prints what differed.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import process from 'node:process';

const require = createRequire(import.meta.url);
let WebSocket;
try {
  WebSocket = require('ws');
} catch {
  console.error('FAILED: the node package "ws" is missing: run scripts/setup (npm ci in tests/interop)');
  process.exit(1);
}
const wsVersion = require('ws/package.json').version;

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
const SCENARIO_TIMEOUT_MS = 90_000;
const WAIT_MS = 10_000;

class CheckFailed extends Error {}

function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
}

// A small deterministic generator (xorshift32), so a failure can be reproduced byte for byte.
function rng(seed) {
  let x = (seed * 2654435761 + 1) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function binaryPayload(size, seed) {
  const next = rng(seed);
  const buf = Buffer.allocUnsafe(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) buf.writeUInt32LE(next(), i);
  for (; i < size; ++i) buf[i] = next() & 0xff;
  return buf;
}

const POOLS = ['abcdefghijklmnopqrstuvwxyz0123456789 ', 'éüßøñ¿¡αβγδ', '€中文日本語✓', '😀🚀🎉𝄞'].map((p) => [...p]);
let textBlocks = null;

// Valid UTF-8 of exactly `size` bytes mixing 1- to 4-byte characters, as a Buffer, without a period.
function textPayload(size, seed) {
  if (!textBlocks) {
    const next = rng(12345);
    textBlocks = [];
    for (let b = 0; b < 8; ++b) {
      let s = '';
      for (let i = 0; i < 4096; ++i) {
        const pool = POOLS[next() % POOLS.length];
        s += pool[next() % pool.length];
      }
      textBlocks.push(Buffer.from(s));
    }
  }
  const next = rng(seed + 7);
  const parts = [];
  let total = 0;
  for (let i = 0; total < size; ++i) {
    const block = textBlocks[next() % textBlocks.length];
    let from = next() % block.length;
    while (from < block.length && (block[from] & 0xc0) === 0x80) ++from;  // start on a character
    const part = Buffer.concat([Buffer.from(`<${i}>`), block.subarray(from)]);  // numbered: no two alike
    parts.push(part);
    total += part.length;
  }
  let data = Buffer.concat(parts).subarray(0, size);
  // Drop a character cut in half at the end, then pad with ASCII to the exact size.
  let end = data.length;
  let lead = end - 1;
  while (lead >= 0 && (data[lead] & 0xc0) === 0x80) --lead;
  if (lead >= 0 && data[lead] >= 0xc0) {
    const need = data[lead] >= 0xf0 ? 4 : data[lead] >= 0xe0 ? 3 : 2;
    if (end - lead < need) end = lead;
  }
  return Buffer.concat([data.subarray(0, end), Buffer.alloc(size - end, 'x')]);
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ++i) if (a[i] !== b[i]) return i;
  return n;
}

function checkEcho(sent, sentBinary, got, what) {
  check(got.isBinary === sentBinary,
        `${what}: sent ${sentBinary ? 'binary' : 'text'} and got ${got.isBinary ? 'binary' : 'text'} back (the opcode changed)`);
  if (!sent.equals(got.data)) {
    throw new CheckFailed(`${what}: ${sent.length} B sent, ${got.data.length} B received, first difference at ${firstDifference(sent, got.data)}`);
  }
}

// A WebSocket with its events turned into promises: next() gives messages in order, closed() the
// Close frame the server sent (code, reason), pong() the next pong.
class Client {
  static open(args) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(args.url, { perMessageDeflate: args.deflate, maxPayload: 64 << 20, handshakeTimeout: WAIT_MS });
      const client = new Client(ws);
      ws.once('open', () => {
        const ext = ws.extensions;
        if (args.deflate) {
          if (!ext.includes('permessage-deflate')) {
            reject(new CheckFailed(`permessage-deflate was offered but not negotiated: Sec-WebSocket-Extensions = '${ext}'`));
            return;
          }
        } else if (ext !== '') {
          reject(new CheckFailed(`extensions negotiated without being offered: '${ext}'`));
          return;
        }
        resolve(client);
      });
      ws.once('error', (e) => reject(e));
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.messages = [];
    this.pongs = [];
    this.waiters = [];
    this.close = null;
    this.error = null;
    ws.on('message', (data, isBinary) => {
      this.messages.push({ data, isBinary });
      this.wake();
    });
    ws.on('pong', (data) => {
      this.pongs.push(data);
      this.wake();
    });
    ws.on('error', (e) => {
      this.error = e;
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.close = { code, reason: reason.toString() };
      this.wake();
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  async until(what, ready) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const v = ready();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new CheckFailed(`timed out waiting for ${what}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  next(what) {
    return this.until(what, () => {
      if (this.messages.length) return this.messages.shift();
      if (this.close) throw new CheckFailed(`${what}: the connection closed (${this.close.code} '${this.close.reason}')`);
      return undefined;
    });
  }

  pong(what) {
    return this.until(what, () => (this.pongs.length ? this.pongs.shift() : undefined));
  }

  // Waits for the end of the connection: the code and reason of the server's Close frame.
  closed(what) {
    return this.until(what, () => {
      if (this.messages.length) throw new CheckFailed(`${what}: a message of ${this.messages[0].data.length} B came instead of a Close`);
      return this.close ?? undefined;
    });
  }

  send(data, binary, fin = true) {
    return new Promise((resolve, reject) => this.ws.send(data, { binary, fin }, (e) => (e ? reject(e) : resolve())));
  }
}

async function closeCleanly(c) {
  c.ws.close(1000);
  const { code } = await c.closed('the server\'s Close');
  check(code === 1000, `the server answered our Close with ${code}`);
}

const scenarios = {
  async messages(args) {
    const c = await Client.open(args);
    for (const size of SIZES) {
      for (const binary of [false, true]) {
        const sent = binary ? binaryPayload(size, size * 2 + 1) : textPayload(size, size * 2);
        const started = Date.now();
        await c.send(sent, binary);
        checkEcho(sent, binary, await c.next(`the echo of ${size} B`), `${binary ? 'binary' : 'text'} message of ${size} B`);
        console.log(`  ${binary ? 'binary' : 'text  '} ${String(size).padStart(9)} B echoed in ${((Date.now() - started) / 1000).toFixed(3)} s`);
      }
    }
    await closeCleanly(c);
  },

  async fragmented(args) {
    const c = await Client.open(args);
    const next = rng(5);
    for (const total of [0, 1, 200, 70000, 3 << 20]) {
      for (const binary of [false, true]) {
        const whole = binary ? binaryPayload(total, total + 2) : textPayload(total, total + 1);
        // Cut anywhere, even inside a UTF-8 character (RFC 6455 §5.6: only the whole message must be
        // valid); one fragment is empty.
        const cuts = Array.from({ length: Math.min(6, total + 1) }, () => next() % (total + 1)).sort((a, b) => a - b);
        const pieces = [];
        let at = 0;
        for (const cut of [...cuts, total]) {
          pieces.push(whole.subarray(at, cut));
          at = cut;
        }
        pieces.splice(1, 0, whole.subarray(0, 0));
        for (let i = 0; i < pieces.length; ++i) {
          await c.send(pieces[i], binary, i === pieces.length - 1);
          if (i === 1) c.ws.ping(Buffer.from('between fragments'));  // RFC 6455 §5.4: control frames may interleave
        }
        const pong = await c.pong('the pong of a ping between fragments');
        check(pong.toString() === 'between fragments', `pong payload '${pong}'`);
        checkEcho(whole, binary, await c.next('a fragmented echo'), `${binary ? 'binary' : 'text'} message of ${total} B in ${pieces.length} fragments`);
        console.log(`  ${binary ? 'binary' : 'text  '} ${String(total).padStart(8)} B in ${pieces.length} fragments came back whole`);
      }
    }
    await closeCleanly(c);
  },

  async pipelined(args) {
    const c = await Client.open(args);
    const next = rng(9);
    const sizes = [0, 1, 10, 125, 126, 1000, 4000];
    const sent = [];
    for (let i = 0; i < 1000; ++i) {
      const size = sizes[next() % sizes.length];
      const binary = i % 2 === 0;
      sent.push({ data: binary ? binaryPayload(size, i) : textPayload(size, i), binary });
    }
    for (const m of sent) c.ws.send(m.data, { binary: m.binary });  // one go: no waiting for anything
    for (let i = 0; i < sent.length; ++i) {
      checkEcho(sent[i].data, sent[i].binary, await c.next(`pipelined echo ${i}`), `pipelined message ${i}`);
    }
    console.log('  1000 pipelined messages came back in order');
    await closeCleanly(c);
  },

  async ping(args) {
    const c = await Client.open(args);
    for (const payload of [Buffer.alloc(0), Buffer.from('p'), binaryPayload(125, 3)]) {
      c.ws.ping(payload);
      const pong = await c.pong(`the pong of ${payload.length} B`);
      check(pong.equals(payload), `ping of ${payload.length} B answered with ${pong.length} B that differ`);
      console.log(`  ping of ${payload.length} B answered`);
    }
    for (let i = 0; i < 20; ++i) {
      c.ws.send(`message ${i}`);
      c.ws.ping(`ping ${i}`);
    }
    for (let i = 0; i < 20; ++i) {
      checkEcho(Buffer.from(`message ${i}`), false, await c.next('a message between pings'), 'message between pings');
      const pong = await c.pong('a pong between messages');
      check(pong.toString() === `ping ${i}`, `pong ${i} carried '${pong}'`);
    }
    console.log('  20 pings between messages answered in order');
    await closeCleanly(c);
  },

  async close(args) {
    const c = await Client.open(args);
    await c.send(Buffer.from('before closing'), false);
    checkEcho(Buffer.from('before closing'), false, await c.next('the echo before closing'), 'message before the close');
    const started = Date.now();
    c.ws.close(1000, 'client done');
    const { code, reason } = await c.closed('the server\'s Close');
    const took = (Date.now() - started) / 1000;
    check(code === 1000, `the server's Close said ${code}, not 1000`);
    check(c.error === null, `error during the close: ${c.error}`);
    console.log(`  server answered 1000 with reason '${reason}'; closed ${took.toFixed(3)} s after our Close`);
    check(took < 5, `the closing handshake took ${took} s`);
  },

  async 'too-big'(args) {
    const limit = 65536;
    let c = await Client.open(args);
    const sent = binaryPayload(limit, 1);
    await c.send(sent, true);
    checkEcho(sent, true, await c.next('the echo of --max-message bytes'), 'a message of exactly --max-message bytes');
    c.ws.send(binaryPayload(limit + 1, 2), { binary: true });
    let { code } = await c.closed('the close after a message too big');
    check(code === 1009, `one byte over --max-message: closed with ${code}, not 1009`);
    console.log(`  ${limit} B echoed, ${limit + 1} B closed with 1009`);
    // Fragments are limited by the whole message, not by each frame.
    c = await Client.open(args);
    const whole = textPayload(limit + 1, 3);
    c.ws.send(whole.subarray(0, 40000), { binary: false, fin: false });
    c.ws.send(whole.subarray(40000), { binary: false, fin: true });
    ({ code } = await c.closed('the close after fragments too big'));
    check(code === 1009, `fragments one byte over --max-message: closed with ${code}, not 1009`);
    console.log(`  fragments adding up to ${limit + 1} B closed with 1009`);
  },

  async idle(args) {
    const c = await Client.open(args);
    const started = Date.now();
    const { code, reason } = await c.closed('the idle timeout');
    const took = (Date.now() - started) / 1000;
    check(code === 1001 && reason === 'idle timeout', `an idle connection closed with ${code} '${reason}'`);
    check(took >= 0.5 && took <= 5, `closed after ${took} s of silence with --idle-timeout 1`);
    console.log(`  closed with 1001 '${reason}' after ${took.toFixed(2)} s`);
  },

  async sigterm(args) {
    const pid = Number(process.env.RINGCAST_SERVER_PID);
    check(pid > 0, 'RINGCAST_SERVER_PID is not set');
    const clients = [];
    for (let i = 0; i < 3; ++i) clients.push(await Client.open(args));
    for (const [i, c] of clients.entries()) {
      await c.send(Buffer.from(`hello ${i}`), false);
      checkEcho(Buffer.from(`hello ${i}`), false, await c.next('the echo before SIGTERM'), 'message before SIGTERM');
    }
    process.kill(pid, 'SIGTERM');
    for (const [i, c] of clients.entries()) {
      const { code, reason } = await c.closed(`client ${i}'s close after SIGTERM`);
      check(code === 1001 && reason === 'server shutting down', `client ${i} closed with ${code} '${reason}' after SIGTERM`);
    }
    console.log("  3 clients closed with 1001 'server shutting down'");
  },
};

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string', default: process.env.RINGCAST_URL }, deflate: { type: 'boolean', default: false } },
  });
  const name = positionals[0];
  if (!(name in scenarios) || !values.url) {
    console.error(`usage: node node_client.mjs {${Object.keys(scenarios).join('|')}} [--url URL] [--deflate]`);
    return 2;
  }
  console.log(`ws ${wsVersion} on node ${process.version} against ${values.url}: ${name}${values.deflate ? ' (permessage-deflate)' : ''}`);
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`the scenario did not finish within ${SCENARIO_TIMEOUT_MS / 1000} s`)), SCENARIO_TIMEOUT_MS);
  });
  try {
    await Promise.race([scenarios[name](values), timeout]);
  } catch (e) {
    console.error(`FAILED: ${e instanceof CheckFailed ? e.message : e.stack ?? e}`);
    return 1;
  } finally {
    clearTimeout(timer);
  }
  console.log('ok');
  return 0;
}

process.exit(await main());
