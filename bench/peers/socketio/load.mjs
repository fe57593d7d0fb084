// A room broadcast load for Socket.IO servers (server.mjs), shaped as ringcast-load's broadcast
// scenario so that cluster_bench compares like with like: connection i joins room r0 on server
// i % n (members spread over the processes), the first --publishers connections emit messages with
// --window of their own outstanding (one more each time a publisher receives its own), and every
// member checks each publisher's numbering: loss, duplicates, reordering.
//
//   node load.mjs --url http://127.0.0.1:9101,http://127.0.0.1:9102 [flags]
//     --url LIST        servers, comma separated; connection i goes to server i % n (required)
//     --connections N   members of the room (default 300)
//     --publishers N    publishing members, the first ones (default 3)
//     --window N        a publisher's own messages outstanding (default 8)
//     --size B          message length in characters, ≥ 40 (default 200)
//     --warmup S        seconds of load before measuring (default 1)
//     --duration S      seconds measured (default 5)
//     --drain S         seconds to wait, after the last publish, for every member to have it (default 10)
//     --json FILE       write the figures (ringcast-load's names where they mean the same) to FILE
//     --progress        print a line every second (default on; --no-progress)
//   example: node load.mjs --url http://127.0.0.1:9101 --connections 300 --publishers 3 --window 8
//
// A message is the text "p:seq:sent_ms:" padded to --size with a letter that depends on seq; a member
// checks its length, its padding letter and that seq is the publisher's next. Latency is from the
// publisher's emit to a member's receipt, both in this process (performance.now()). One process, one
// thread: with Socket.IO's client parsing every packet, this process may be what limits the rate, and
// its CPU is reported (client_cpu_seconds). Exit status: 0 when every connection opened and every
// member got every message once and in order, 1 otherwise, 2 on bad usage.

import { writeFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { parseFlags } from '../flags.mjs';

const usage = `usage: node load.mjs --url URL[,URL...] [--connections 300] [--publishers 3] [--window 8]
  [--size 200] [--warmup 1] [--duration 5] [--drain 10] [--json FILE] [--no-progress]`;

function options() {
  const values = parseFlags({
    url: { type: 'string', default: '' },
    connections: { type: 'string', default: '300' },
    publishers: { type: 'string', default: '3' },
    window: { type: 'string', default: '8' },
    size: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    drain: { type: 'string', default: '10' },
    json: { type: 'string', default: '' },
    progress: { type: 'boolean', default: true },
    'no-progress': { type: 'boolean', default: false },
  }, usage);
  const o = {
    urls: values.url.split(',').filter((u) => u !== ''),
    connections: Number(values.connections),
    publishers: Number(values.publishers),
    window: Number(values.window),
    size: Number(values.size),
    warmup: Number(values.warmup),
    duration: Number(values.duration),
    drain: Number(values.drain),
    json: values.json,
    progress: values.progress && !values['no-progress'],
  };
  const counts = [o.connections, o.publishers, o.window, o.size];
  if (o.urls.length === 0 || !counts.every(Number.isInteger) || o.connections < 1 || o.window < 1 || o.size < 40 ||
      !(o.duration > 0) || !(o.warmup >= 0) || !(o.drain >= 0)) {
    console.error(usage);
    process.exit(2);
  }
  o.publishers = Math.min(o.publishers, o.connections);
  return o;
}

const o = options();
const kRoom = 'r0';

// Padding letters: message seq is padded with kPad[seq % 26].
const kPad = Array.from({ length: 26 }, (_, i) => String.fromCharCode(97 + i).repeat(o.size));

// Latencies (ms) of the measured window, in a typed array that doubles when full.
let samples = new Float64Array(1 << 20);
let nsamples = 0;
function record(ms) {
  if (nsamples === samples.length) {
    const bigger = new Float64Array(samples.length * 2);
    bigger.set(samples);
    samples = bigger;
  }
  samples[nsamples++] = ms;
}

const stats = { sent: 0, received: 0, sentTotal: 0, receivedTotal: 0, bad: 0, reordered: 0, lost: 0,
  closedEarly: 0, failed: 0 };
let measuring = false;
let publishing = false;
const sockets = [];
const sentBy = new Array(o.publishers).fill(0);  // seq of each publisher's last message
// expected[i][p]: the next seq member i should get from publisher p.
const expected = Array.from({ length: o.connections }, () => new Array(o.publishers).fill(1));

function publish(p) {
  const seq = ++sentBy[p];
  const head = `${p}:${seq}:${performance.now()}:`;
  sockets[p].emit('m', head + kPad[seq % 26].slice(0, o.size - head.length));
  ++stats.sentTotal;
  if (measuring) ++stats.sent;
}

function onMessage(i, m) {
  const now = performance.now();
  if (typeof m !== 'string' || m.length !== o.size) {
    ++stats.bad;
    return;
  }
  const a = m.indexOf(':');
  const b = m.indexOf(':', a + 1);
  const c = m.indexOf(':', b + 1);
  const p = Number(m.slice(0, a));
  const seq = Number(m.slice(a + 1, b));
  const sentMs = Number(m.slice(b + 1, c));
  if (!(p >= 0 && p < o.publishers) || !(seq >= 1) || m.charCodeAt(o.size - 1) !== 97 + (seq % 26)) {
    ++stats.bad;
    return;
  }
  const next = expected[i][p];
  if (seq === next) {
    expected[i][p] = seq + 1;
  } else if (seq > next) {
    stats.lost += seq - next;  // next … seq-1 are missing (should they come later, they count again)
    expected[i][p] = seq + 1;
  } else {
    ++stats.reordered;  // seen before, or after a later one
  }
  ++stats.receivedTotal;
  if (measuring) {
    ++stats.received;
    record(now - sentMs);
  }
  if (i === p && publishing) publish(p);
}

function connect(i) {
  return new Promise((resolve) => {
    const url = o.urls[i % o.urls.length];
    const s = io(url, { transports: ['websocket'], query: { room: kRoom }, forceNew: true, reconnection: false,
      timeout: 10000 });
    sockets[i] = s;
    let open = false;
    s.on('m', (m) => onMessage(i, m));
    s.on('connect', () => {
      open = true;
      resolve(true);
    });
    s.on('connect_error', () => {
      ++stats.failed;
      resolve(false);
    });
    s.on('disconnect', () => {
      if (open && !stopping) ++stats.closedEarly;
    });
  });
}

let stopping = false;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function drained() {
  for (let i = 0; i < o.connections; ++i) {
    if (!sockets[i] || !sockets[i].connected) continue;
    for (let p = 0; p < o.publishers; ++p) {
      if (expected[i][p] <= sentBy[p]) return false;
    }
  }
  return true;
}

const cpuStart = process.cpuUsage();
const connectStart = performance.now();
// In batches, as a browser population arrives; all at once would be a handshake storm on node.
for (let i = 0; i < o.connections; i += 50) {
  const batch = [];
  for (let k = i; k < Math.min(o.connections, i + 50); ++k) batch.push(connect(k));
  await Promise.all(batch);
}
const connectSeconds = (performance.now() - connectStart) / 1000;

let measuredSeconds = 0;
if (stats.failed === 0) {
  publishing = true;
  for (let p = 0; p < o.publishers; ++p) {
    for (let k = 0; k < o.window; ++k) publish(p);
  }
  const progress = o.progress ? setInterval(() => {
    const t = (performance.now() - connectStart) / 1000;
    console.log(`[${t.toFixed(1).padStart(5)}s] conns ${o.connections}  sent ${stats.sentTotal}  received ${stats.receivedTotal}`);
  }, 1000) : null;
  await sleep(o.warmup * 1000);
  measuring = true;
  const t0 = performance.now();
  await sleep(o.duration * 1000);
  measuring = false;
  measuredSeconds = (performance.now() - t0) / 1000;
  publishing = false;
  const drainUntil = performance.now() + o.drain * 1000;
  while (!drained() && performance.now() < drainUntil) await sleep(10);
  if (progress) clearInterval(progress);
}
stopping = true;
// What never arrived: every member should have each publisher's messages up to its last.
for (let i = 0; i < o.connections; ++i) {
  for (let p = 0; p < o.publishers; ++p) stats.lost += Math.max(0, sentBy[p] + 1 - expected[i][p]);
}
const cpu = process.cpuUsage(cpuStart);
for (const s of sockets) s?.close();

const sorted = samples.subarray(0, nsamples).sort();
const us = (ms) => ms * 1000;
const clean = stats.failed === 0 && stats.lost === 0 && stats.reordered === 0 &&
  stats.bad === 0 && stats.closedEarly === 0 && stats.sentTotal > 0;
const result = {
  scenario: 'broadcast',
  url: o.urls.join(','),
  connections: o.connections,
  publishers: o.publishers,
  window: o.window,
  size: o.size,
  connect_seconds: connectSeconds,
  failed: stats.failed,
  measured_seconds: measuredSeconds,
  sent: stats.sent,
  received: stats.received,
  sent_total: stats.sentTotal,
  received_total: stats.receivedTotal,
  sent_per_second: measuredSeconds > 0 ? stats.sent / measuredSeconds : 0,
  received_per_second: measuredSeconds > 0 ? stats.received / measuredSeconds : 0,
  latency_us: {
    p50: us(percentile(sorted, 0.5)),
    p90: us(percentile(sorted, 0.9)),
    p99: us(percentile(sorted, 0.99)),
    p999: us(percentile(sorted, 0.999)),
    max: us(nsamples ? sorted[nsamples - 1] : 0),
  },
  lost: stats.lost,
  reordered: stats.reordered,
  bad_messages: stats.bad,
  closed_early: stats.closedEarly,
  client_cpu_seconds: (cpu.user + cpu.system) / 1e6,
  clean,
};
console.log(`socket.io broadcast against ${result.url}: ${o.connections} connections, ${o.publishers} publishers, ` +
  `window ${o.window}, ${o.size}-character messages`);
console.log(`  connect     ${o.connections - stats.failed} opened in ${connectSeconds.toFixed(2)} s, ${stats.failed} failed`);
console.log(`  throughput  sent ${result.sent_per_second.toFixed(0)} msg/s, received ${result.received_per_second.toFixed(0)} msg/s ` +
  `over ${measuredSeconds.toFixed(1)} s`);
console.log(`  latency µs  p50 ${result.latency_us.p50.toFixed(1)}  p99 ${result.latency_us.p99.toFixed(1)}  ` +
  `max ${result.latency_us.max.toFixed(1)}`);
console.log(`  checks      lost ${stats.lost}, duplicated or reordered ${stats.reordered}, ` +
  `bad messages ${stats.bad}, closed early ${stats.closedEarly}: ${clean ? 'OK' : 'FAILED'}`);
console.log(`  cpu         load client ${(100 * result.client_cpu_seconds / ((performance.now() - connectStart) / 1000)).toFixed(0)}% of a core`);
if (o.json !== '') writeFileSync(o.json, JSON.stringify(result) + '\n');
process.exit(clean ? 0 : 1);
