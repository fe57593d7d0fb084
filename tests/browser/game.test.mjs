// The game page in chromium against ringcast-game: a player joins a match, holds an arrow key and
// moves; a second page joins and each sees the other; a click walks a player to the point. Checked
// through the page's read-only window.__game view. Saves $RINGCAST_ARTIFACTS/game.png.
//
//   RINGCAST_BIN=build/bin RINGCAST_ARTIFACTS=build/artifacts node tests/browser/game.test.mjs
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser, startServer, stoppedCleanly } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.RINGCAST_BIN || path.resolve(here, '../../build/bin');
const artifacts = process.env.RINGCAST_ARTIFACTS || path.resolve(here, '../../build/artifacts');
const kTimeout = 15000;

const server = await startServer([path.join(bin, 'ringcast-game'), '--host', '127.0.0.1', '--port', '0', '--shards', '2']);
const browser = await launchBrowser();
const problems = [];
let status = 1;

async function openPlayer(name) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  page.on('pageerror', (e) => problems.push(`${name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name}: console: ${m.text()}`); });
  await page.goto(`http://127.0.0.1:${server.port}/?match=browsers&name=${encodeURIComponent(name)}`);
  await page.getByTestId('join-button').click();
  await page.waitForFunction(() => window.__game.state === 'playing' && window.__game.snapshots >= 3,
                             null, { timeout: kTimeout });
  return page;
}

const self = (page) => page.evaluate(() => window.__game.players.find((p) => p.self));

try {
  // A player joins and receives snapshots at the server's tick rate.
  const alice = await openPlayer('alice');
  await alice.waitForFunction(() => window.__game.tickRate >= 24 && window.__game.tickRate <= 36, null,
                              { timeout: kTimeout });
  assert.equal(await alice.getByTestId('game-status').getAttribute('data-state'), 'playing');
  const start = await self(alice);
  assert.ok(start, 'the player is in its own snapshots');

  // Holding an arrow key moves the player that way (toward the middle, away from the walls).
  const right = start.x < 500;
  await alice.keyboard.down(right ? 'ArrowRight' : 'ArrowLeft');
  await alice.waitForFunction(() => window.__game.players.find((p) => p.self).moving, null, { timeout: kTimeout });
  assert.equal(await alice.evaluate(() => window.__game.keys), right ? 8 : 4, 'the held key went to the server');
  await alice.waitForTimeout(500);
  await alice.keyboard.up(right ? 'ArrowRight' : 'ArrowLeft');
  await alice.waitForFunction(() => !window.__game.players.find((p) => p.self).moving, null, { timeout: kTimeout });
  const moved = await self(alice);
  const dx = moved.x - start.x;
  assert.ok(right ? dx > 60 : dx < -60, `moved ${dx} units along x after holding the key for half a second`);
  assert.equal(moved.y, start.y, 'a horizontal key does not move the player vertically');

  // A second page joins: each sees the other, by name.
  const bob = await openPlayer('bob');
  await alice.waitForFunction(() => window.__game.players.some((p) => p.name === 'bob' && !p.self), null,
                              { timeout: kTimeout });
  await bob.waitForFunction(() => window.__game.players.some((p) => p.name === 'alice' && !p.self), null,
                            { timeout: kTimeout });
  // The side panel refreshes its figures a few times a second.
  await alice.waitForFunction(() => document.querySelector('[data-testid="player-count"]').textContent === '2', null,
                              { timeout: kTimeout });
  const listed = await alice.getByTestId('player-item').evaluateAll((items) => items.map((li) => li.dataset.name));
  assert.deepEqual(listed.sort(), ['alice', 'bob']);

  // A click on the middle of bob's arena walks bob to the world's middle; alice sees him arrive.
  const canvas = bob.getByTestId('game-canvas');
  const box = await canvas.boundingBox();
  await canvas.click({ position: { x: box.width / 2, y: box.height / 2 } });
  await alice.waitForFunction(() => {
    const b = window.__game.players.find((p) => p.name === 'bob');
    return b && Math.abs(b.x - 500) < 2 && Math.abs(b.y - 500) < 2 && !b.moving;
  }, null, { timeout: kTimeout });

  // Alice walks a little more, so the picture shows a heading, then the screenshot.
  await alice.keyboard.down('ArrowDown');
  await alice.waitForTimeout(300);
  await alice.keyboard.up('ArrowDown');
  await alice.waitForTimeout(300);
  mkdirSync(artifacts, { recursive: true });
  await alice.screenshot({ path: path.join(artifacts, 'game.png') });

  // Leaving: the other page sees the player go.
  await bob.getByTestId('leave-button').click();
  await alice.waitForFunction(() => window.__game.players.length === 1, null, { timeout: kTimeout });
  assert.equal(await bob.evaluate(() => window.__game.state), 'idle');

  assert.deepEqual(problems, [], 'no errors on the pages');
  status = 0;
} catch (e) {
  console.error(e);
  console.error(`server output:\n${server.output()}`);
} finally {
  await browser.close();
  if (!(await stoppedCleanly(server, 'ringcast-game'))) status = 1;
}
console.log(status === 0 ? 'game: ok' : 'game: FAILED');
process.exit(status);
