// Shared by the browser tests: Debian's chromium, headless, driven by playwright-core (never a
// browser downloaded by a test tool), and a server process started for the test.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';

export const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-quic', '--disable-sync',
];

export async function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumArgs });
}

// Starts `argv` (a ringcast server asked to listen on port 0) and resolves with {port, process, output}
// once it logs "listening on ADDRESS:PORT". Rejects after `timeoutMs`.
export function startServer(argv, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no "listening on" line:\n${output}`)); }, timeoutMs);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(/listening on .*:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), process: child, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${output}`)); });
  });
}

// SIGTERM, then the exit code.
export function stopServer(server) {
  return new Promise((resolve) => {
    server.process.removeAllListeners('exit');
    server.process.on('exit', (code) => resolve(code));
    server.process.kill('SIGTERM');
  });
}

// stopServer, and whether the server exited with status 0 (if not, `name` and its status on stderr).
export async function stoppedCleanly(server, name) {
  const code = await stopServer(server);
  if (code !== 0) console.error(`${name} exited with ${code}`);
  return code === 0;
}
