// The chat page over https:// and wss:// in chromium, against ringcast-chat serving TLS from a
// certificate made for the test: alice and bob log in and talk (TLS 1.3, so after the handshake
// each connection runs on ringcast's own record layer); alice sends 40 messages of 3,000 characters
// and bob's page shows them all in order; the certificate and key are replaced on disk and the server
// gets SIGHUP: the open connections carry on, and alice's second tab, in a fresh browser context (a
// new handshake, with the new certificate as openssl s_client sees), joins and hears them.
//
//   RINGCAST_BIN=build/bin node tests/browser/chat_tls.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser, startServer, stoppedCleanly } from './browser.mjs';
import { logIn, online, say, seen as seenIn } from './chat_page.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.RINGCAST_BIN || path.resolve(here, '../../build/bin');

const dir = mkdtempSync(path.join(os.tmpdir(), 'ringcast-chat-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
// A self-signed P-256 certificate for 127.0.0.1; `name` tells the two apart.
function makeCertificate(name) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                           '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1',
                           '-keyout', key, '-out', cert], { stdio: 'pipe' });
}
makeCertificate('ringcast test one');

const server = await startServer([path.join(bin, 'ringcast-chat'), '--host', '127.0.0.1', '--port', '0', '--shards', '2',
                                  '--tls-cert', cert, '--tls-key', key, '--max-message', '16384']);
const url = `https://127.0.0.1:${server.port}/`;
let browser = null;
const problems = [];
let status = 1;

async function openAs(user) {  // demo users: alice and bob
  // Its own context: its own TLS sessions, so each user's page makes its own handshakes.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`${user}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${user}: console: ${m.text()}`); });
  await page.goto(url);
  await logIn(page, user);
  await online(page);
  return page;
}

const seen = (page, from, message) => seenIn(page, 'general', from, message);

const texts = (page, from) =>
  page.evaluate((f) => window.__chat.messages('general').filter((x) => x.from === f).map((x) => x.message), from);

try {
  browser = await launchBrowser();
  const alice = await openAs('alice');
  const bob = await openAs('bob');
  assert.equal(await alice.evaluate(() => location.protocol), 'https:');

  await say(alice, 'Hello over TLS');
  await seen(bob, 'alice', 'Hello over TLS');
  await say(bob, 'Loud and clear');
  await seen(alice, 'bob', 'Loud and clear');

  // 40 messages of 3,000 characters, one after another: records full and split, all in order.
  const burst = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')} ${'abcdefghij'.repeat(300)}`.slice(0, 3000));
  for (const m of burst) await say(alice, m);
  await seen(bob, 'alice', burst[burst.length - 1]);
  assert.deepEqual(await texts(bob, 'alice'), ['Hello over TLS', ...burst]);

  // A new certificate on disk and SIGHUP: open connections stay, new handshakes get the new one.
  makeCertificate('ringcast test two');
  server.process.kill('SIGHUP');
  const subject = () => execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${server.port}`], { input: '', stdio: 'pipe' })
    .toString();
  for (let i = 0; i < 50 && !subject().includes('ringcast test two'); ++i) await new Promise((r) => setTimeout(r, 100));
  assert.match(subject(), /subject=CN ?= ?ringcast test two/);
  const aliceAgain = await openAs('alice');  // a second tab of hers
  await say(alice, 'Still here after the reload');
  await seen(bob, 'alice', 'Still here after the reload');
  await seen(aliceAgain, 'alice', 'Still here after the reload');
  await say(bob, 'Me too');
  await seen(alice, 'bob', 'Me too');
  await seen(aliceAgain, 'bob', 'Me too');
  assert.equal(await alice.evaluate(() => window.__chat.state), 'online');

  assert.deepEqual(problems, [], 'no errors on the pages');
  status = 0;
} catch (e) {
  console.error(e);
  if (problems.length) console.error(`page problems:\n${problems.join('\n')}`);
  console.error(`server output:\n${server.output()}`);
} finally {
  if (browser) await browser.close();
  if (!(await stoppedCleanly(server, 'ringcast-chat'))) status = 1;
  rmSync(dir, { recursive: true, force: true });
}
console.log(status === 0 ? 'chat tls: ok' : 'chat tls: FAILED');
process.exit(status);
