// Runs the real funding-ledger binary for the browser tests: `serve` on
// 127.0.0.1:0 with a throwaway data directory (its embedded PostgreSQL
// included) and a clock the test can move forward (libfaketime, preloaded
// into funding-ledger alone, as tests/e2e/lifecycle_e2e_test.cc does).
// stop() sends SIGTERM and waits; a test process that dies first still takes
// the server with it (exit and signal hooks).

import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const kSecret = 'browser-secret-browser-secret-32';
const kStartTimeoutMs = 60_000;
const kStopTimeoutMs = 30_000;

const running = new Set();
function signalAll(signal) {
  for (const child of running) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}
// Last resort, when the test exits without stop(): nothing else can run here.
process.on('exit', () => signalAll('SIGKILL'));
// Stopped from outside (Ctrl-C, ctest's timeout): stop every server as
// stop() does (it stops its PostgreSQL too, and its directory goes), then exit.
const servers = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await Promise.race([
      Promise.all([...servers].map((server) => server.stop())),
      new Promise((resolve) => setTimeout(resolve, 15_000)),
    ]);
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

// libfaketime's multi-threading variant (Debian package faketime), or null.
export function findLibFaketime() {
  const dirs = ['/usr/lib/faketime', '/usr/local/lib/faketime'];
  for (const entry of readdirSync('/usr/lib', { withFileTypes: true })) {
    if (entry.isDirectory()) dirs.push(path.join('/usr/lib', entry.name, 'faketime'));
  }
  for (const dir of dirs) {
    const lib = path.join(dir, 'libfaketimeMT.so.1');
    if (existsSync(lib)) return lib;
  }
  return null;
}

export class LedgerServer {
  constructor(binary) {
    this.binary = binary;
    this.dir = mkdtempSync(path.join(tmpdir(), 'ledger-browser-'));
    // The embedded PostgreSQL runs as the postgres user and must reach its
    // directory below this one.
    chmodSync(this.dir, 0o711);
    this.dataDir = path.join(this.dir, 'data');
    this.clockFile = path.join(this.dir, 'faketime');
    this.offsetSeconds = 0;
    this.writeClock();
    this.child = null;
    this.url = null;
    this.logPath = path.join(this.dir, 'serve.log');
    servers.add(this);
  }

  writeClock() {
    writeFileSync(`${this.clockFile}.tmp`, `+${this.offsetSeconds}\n`);
    renameSync(`${this.clockFile}.tmp`, this.clockFile);
  }

  async start() {
    const env = { ...process.env };
    const libfaketime = findLibFaketime();
    if (libfaketime) {
      Object.assign(env, {
        LD_PRELOAD: libfaketime,
        FAKETIME_TIMESTAMP_FILE: this.clockFile,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
        FAKETIME_ONLY_CMDS: 'funding-ledger',
        // Under AddressSanitizer the preloaded library precedes ASan's
        // runtime, which ASan accepts only when told not to check the order.
        ASAN_OPTIONS: [process.env.ASAN_OPTIONS, 'verify_asan_link_order=0'].filter(Boolean).join(':'),
      });
    }
    this.canMoveClock = libfaketime !== null;
    const log = openSync(this.logPath, 'a');
    this.child = spawn(this.binary, [
      'serve', '--listen', '127.0.0.1:0', '--data-dir', this.dataDir, '--jwt-secret', kSecret,
      '--time-zone', 'Asia/Seoul',
    ], { env, stdio: ['ignore', 'pipe', log] });
    running.add(this.child);
    this.child.on('exit', () => running.delete(this.child));
    this.url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start in ${kStartTimeoutMs} ms\n${this.log()}`)), kStartTimeoutMs);
      this.child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /funding-ledger serving on (http:\/\/[^\s]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      this.child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code ?? signal}) before serving\n${this.log()}`));
      });
    });
    this.child.stdout.resume();
    return this.url;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '';
    }
  }

  // From now on the server's wall clock reads about `seconds` later than
  // real time (whole seconds; never backwards).
  setClockOffset(seconds) {
    if (!this.canMoveClock) throw new Error('libfaketime is not installed (Debian package faketime)');
    if (seconds < this.offsetSeconds) throw new Error('the server clock only moves forward');
    this.offsetSeconds = Math.floor(seconds);
    this.writeClock();
  }

  token(sub) {
    return execFileSync(this.binary, ['token', '--sub', sub, '--ttl', '259200', '--data-dir', this.dataDir,
      '--jwt-secret', kSecret], { encoding: 'utf8' }).trim();
  }

  // SIGTERM, then wait (SIGKILL after kStopTimeoutMs); removes the data.
  // Returns the exit code (null when it had to be killed).
  async stop() {
    const child = this.child;
    let code = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', (c) => resolve(c)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), kStopTimeoutMs);
      code = await exited;
      clearTimeout(timer);
    } else if (child) {
      code = child.exitCode;
    }
    this.child = null;
    servers.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }

  // A JSON request (`body` an object, or a string sent as it is); returns
  // { status, headers, body (parsed, or the text), text }.
  async call(method, target, { body, token, headers = {} } = {}) {
    const h = { ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (token) h.Authorization = `Bearer ${token}`;
    const response = await fetch(this.url + target, {
      method, headers: h, body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }
}
