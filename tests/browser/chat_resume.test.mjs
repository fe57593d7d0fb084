// The chat page across a node's death, in chromium: two ringcast-chat nodes share one redis-server
// (--broker); alice's page is on node A, bob's on node B. A is killed (-9) while bob keeps talking,
// then started again on its port: alice's page reconnects by itself (backoff, a fresh login with the
// credentials it keeps in memory) into the room it was in, from the last message it had, and shows
// bob's messages in the room's one order — none missing, none twice, no break in the conversation.
//
//   RINGCAST_BIN=build/bin node tests/browser/chat_resume.test.mjs
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser, startServer, stopServer } from './browser.mjs';
import { kTimeout, logIn, online, say, seen as seenIn } from './chat_page.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.RINGCAST_BIN || path.resolve(here, '../../build/bin');

// A port nobody listens on now (the kernel's choice for a socket bound to port 0).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
                    { stdio: 'ignore' });
redis.on('error', (e) => { console.error(`redis-server: ${e.message} (scripts/setup installs it)`); process.exit(1); });
const broker = `redis://127.0.0.1:${redisPort}/resume/`;
const nodeArgs = (port) => [path.join(bin, 'ringcast-chat'), '--host', '127.0.0.1', '--port', String(port), '--shards', '2',
                            '--broker', broker];
// Redis takes a moment to listen: a node that cannot reach it yet retries by itself.
const portA = await freePort();
let nodeA = await startServer(nodeArgs(portA));
const nodeB = await startServer(nodeArgs(0));
let browser = null;
const problems = [];
let status = 1;

async function openAs(port, user) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.on('pageerror', (e) => problems.push(`${user}: ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await logIn(page, user);
  await online(page);
  return page;
}

const seen = (page, from, message) => seenIn(page, 'general', from, message);

const texts = (page) => page.evaluate(() => window.__chat.messages('general').map((m) => `${m.seq}:${m.message}`));

try {
  browser = await launchBrowser();
  const alice = await openAs(portA, 'alice');
  const bob = await openAs(nodeB.port, 'bob');
  await say(alice, 'before 1');
  await seen(bob, 'alice', 'before 1');
  await say(bob, 'before 2');
  await seen(alice, 'bob', 'before 2');

  // Node A dies; the page notices and retries while bob goes on.
  nodeA.process.kill('SIGKILL');
  await alice.waitForFunction(() => window.__chat.state !== 'online', null, { timeout: kTimeout });
  const during = ['while A was down 1', 'while A was down 2', 'while A was down 3'];
  for (const t of during) {
    await say(bob, t);
    await seen(bob, 'bob', t);
  }

  // A comes back on its port: the page resumes from where it was.
  nodeA = await startServer(nodeArgs(portA));
  for (const t of during) await seen(alice, 'bob', t);
  await alice.waitForFunction(() => window.__chat.state === 'online', null, { timeout: kTimeout });
  await say(alice, 'after');
  await seen(bob, 'alice', 'after');
  await seen(alice, 'alice', 'after');

  const expected = ['1:before 1', '2:before 2', '3:while A was down 1', '4:while A was down 2', '5:while A was down 3', '6:after'];
  assert.deepEqual(await texts(alice), expected);
  assert.deepEqual(await texts(bob), expected);
  // Nothing on alice's page says the conversation broke.
  assert.equal(await alice.getByTestId('gap-marker').count(), 0);
  assert.equal(await alice.getByTestId('history-reset').count(), 0);
  assert.deepEqual(problems, [], 'no errors on the pages');
  status = 0;
} catch (e) {
  console.error(e);
  console.error('node A output:\n' + nodeA.output());
  console.error('node B output:\n' + nodeB.output());
} finally {
  if (browser) await browser.close();
  await stopServer(nodeB);
  if (nodeA.process.exitCode === null && nodeA.process.signalCode === null) await stopServer(nodeA);
  redis.kill('SIGKILL');
}
console.log(status === 0 ? 'chat_resume: ok' : 'chat_resume: FAILED');
process.exit(status);
