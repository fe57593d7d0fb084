// The chat page in chromium against ringcast-chat (2 shards, the compiled-in demo users): a wrong
// password is refused; alice and bob log in, chat in "general" and see each other's messages; alice
// moves to another room and bob sees her leave, then follows and both see each other there; bob goes
// back and finds general's history. Checked through the page's read-only window.__chat view and its
// data-testid elements. Saves $RINGCAST_ARTIFACTS/chat.png.
//
//   RINGCAST_BIN=build/bin RINGCAST_ARTIFACTS=build/artifacts node tests/browser/chat.test.mjs
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser, startServer, stoppedCleanly } from './browser.mjs';
import { kTimeout, logIn, online, say, seen } from './chat_page.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.RINGCAST_BIN || path.resolve(here, '../../build/bin');
const artifacts = process.env.RINGCAST_ARTIFACTS || path.resolve(here, '../../build/artifacts');

const server = await startServer([path.join(bin, 'ringcast-chat'), '--host', '127.0.0.1', '--port', '0', '--shards', '2']);
const url = `http://127.0.0.1:${server.port}/`;
let browser = null;
const problems = [];
let status = 1;

// `expected`: console errors that are part of the test (the browser logs a refused login's 401).
async function openPage(who, expected = null) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.on('pageerror', (e) => problems.push(`${who}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !(expected && expected.test(m.text()))) problems.push(`${who}: console: ${m.text()}`);
  });
  await page.goto(url);
  return page;
}

async function openAs(user) {
  const page = await openPage(user);
  await logIn(page, user);
  await online(page);
  assert.equal(await page.getByTestId('current-user').textContent(), user);
  return page;
}

async function join(page, room) {
  await page.getByTestId('room-input').fill(room);
  await page.getByTestId('room-join').click();
  await online(page, room);
}

const members = (page) => page.evaluate(() => window.__chat.members);

try {
  browser = await launchBrowser();

  // A wrong password is refused on the login form.
  const stranger = await openPage('stranger', /status of 401/);
  await logIn(stranger, 'alice', 'not the password');
  await stranger.getByTestId('login-error').waitFor({ state: 'visible', timeout: kTimeout });
  assert.match(await stranger.getByTestId('login-error').textContent(), /wrong username or password/i);
  assert.equal(await stranger.getByTestId('chat').isHidden(), true);
  await stranger.close();

  // Both log in and land in general, each seeing the other there.
  const alice = await openAs('alice');
  const bob = await openAs('bob');
  await alice.waitForFunction(() => window.__chat.members.includes('bob'), null, { timeout: kTimeout });
  assert.deepEqual(await members(bob), ['alice', 'bob']);

  // They chat: each message reaches both pages, in one order, numbered 1, 2, 3.
  await say(alice, 'Hi Bob! The new server is up.');
  await seen(bob, 'general', 'alice', 'Hi Bob! The new server is up.');
  await say(bob, 'Nice — every core serves connections now?');
  await seen(alice, 'general', 'bob', 'Nice — every core serves connections now?');
  const tricky = '<img src=x onerror="window.__pwned=1"> & "quotes"';
  await say(alice, tricky);
  await seen(bob, 'general', 'alice', tricky);
  await seen(alice, 'general', 'alice', tricky);  // her own copy may come after bob's
  const general = await bob.evaluate(() => window.__chat.messages('general'));
  assert.deepEqual(general.map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(await alice.evaluate(() => window.__chat.messages('general').map((m) => m.seq)), [1, 2, 3]);
  assert.ok(general.every((m) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(m.sent)), 'sent is RFC 3339');
  // User text is text: shown as typed, never run.
  assert.equal(await bob.getByTestId('message-text').last().textContent(), tricky);
  assert.equal(await bob.evaluate(() => window.__pwned), undefined);
  assert.equal(await bob.locator('[data-testid="message-list"] img').count(), 0);
  assert.equal(await bob.locator('[data-testid="message-item"][data-own="true"]').count(), 1);

  // Alice moves to another room: bob sees her leave general.
  await join(alice, 'design');
  assert.deepEqual(await members(alice), ['alice']);
  await bob.waitForFunction(() => !window.__chat.members.includes('alice'), null, { timeout: kTimeout });

  // Bob follows: each sees the other in design; they talk there.
  await join(bob, 'design');
  assert.deepEqual(await members(bob), ['alice', 'bob']);
  await alice.waitForFunction(() => window.__chat.members.includes('bob'), null, { timeout: kTimeout });
  await say(alice, 'Welcome to #design. Mockups are in the usual place.');
  await seen(bob, 'design', 'alice', 'Welcome to #design. Mockups are in the usual place.');
  await say(bob, 'Looks great. Rooms on their own shard, history of 50 each.');
  await seen(alice, 'design', 'bob', 'Looks great. Rooms on their own shard, history of 50 each.');
  await say(alice, 'Shipping it today ✓');
  await seen(bob, 'design', 'alice', 'Shipping it today ✓');
  assert.deepEqual(await alice.evaluate(() => window.__chat.rooms.sort()), ['design', 'general']);
  assert.equal(await alice.getByTestId('current-room').textContent(), '# design');

  // The screenshot: alice's page in design, with both members and the conversation.
  await alice.getByTestId('message-input').fill('');
  mkdirSync(artifacts, { recursive: true });
  await alice.screenshot({ path: path.join(artifacts, 'chat.png') });

  // Bob returns to general from the room list: its history is there, and alice sees him go.
  await bob.locator('[data-testid="room-item"][data-room="general"]').click();
  await online(bob);
  assert.deepEqual(await bob.evaluate(() => window.__chat.messages('general').map((m) => m.message)),
                   ['Hi Bob! The new server is up.', 'Nice — every core serves connections now?', tricky]);
  await alice.waitForFunction(() => !window.__chat.members.includes('bob'), null, { timeout: kTimeout });

  assert.deepEqual(problems, [], 'no errors on the pages');
  status = 0;
} catch (e) {
  console.error(e);
  if (problems.length) console.error(`page problems:\n${problems.join('\n')}`);
  console.error(`server output:\n${server.output()}`);
} finally {
  if (browser) await browser.close();
  if (!(await stoppedCleanly(server, 'ringcast-chat'))) status = 1;
}
console.log(status === 0 ? 'chat: ok' : 'chat: FAILED');
process.exit(status);
