/**
 * Harness for the digest example's end-to-end tests: a slow loopback file server, the example
 * run as a real formation by `drove start`, and headless Chromium driven by playwright-core.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { portIsFree } from '../../src/runner/readiness.js';
import { freePort, requireBinary, waitFor } from '../helpers/ports.js';

const run = promisify(execFile);
export const ROOT = new URL('../../', import.meta.url).pathname;
export const EXAMPLE = join(ROOT, 'examples', 'digest');
export const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Deterministic pseudo-random bytes: the same file every run, without storing it. */
function block(index: number): Buffer {
  return createHash('sha512').update(`digest-e2e-${index}`).digest();
}

export interface FileServer {
  url: string;
  /** SHA-256 and size of /big.bin. */
  big: { sha256: string; size: number };
  close(): Promise<void>;
}

/**
 * Serves /big.bin (`sizeMiB` MiB, streamed at about `mibPerSecond`), so a test has time to kill
 * processes mid-download; /stall.bin sends 1 KiB and then nothing.
 */
export async function startFileServer(sizeMiB: number, mibPerSecond: number): Promise<FileServer> {
  const MiB = 1024 * 1024;
  const chunk = Buffer.concat(Array.from({ length: MiB / 64 }, (_, i) => block(i)));
  const size = sizeMiB * MiB;
  const hash = createHash('sha256');
  for (let i = 0; i < sizeMiB; i++) hash.update(chunk);
  const sha256 = hash.digest('hex');
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/big.bin')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      let sent = 0;
      const tick = setInterval(() => {
        if (res.destroyed) return clearInterval(tick);
        res.write(chunk);
        if (++sent === sizeMiB) {
          clearInterval(tick);
          res.end();
        }
      }, 1000 / mibPerSecond);
      res.on('close', () => clearInterval(tick));
      return;
    }
    if (req.url === '/stall.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MiB });
      res.write(Buffer.alloc(1024));
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    big: { sha256, size },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface InstanceStatus {
  name: string;
  type: string;
  state: string;
  pid: number | null;
  pgid: number | null;
  restarts: number;
}

export interface Formation {
  url: string;
  dir: string;
  env: Record<string, string>;
  output: () => string;
  ps(): Promise<InstanceStatus[]>;
  restart(target: string): Promise<void>;
  /** SIGKILL every process of one instance (its whole process group), as a crash would. */
  crash(name: string): Promise<InstanceStatus>;
  stop(): Promise<void>;
}

/**
 * A balancer port whose instance ports (port + 100×i + n) stay below 65536 and are free now.
 * Picked from the ephemeral range, an instance port can be the local port of some connection the
 * suite holds open, and `drove start` then refuses to start (DROVE_ERR_PORT_IN_USE).
 */
async function basePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port >= 60000) continue;
    const instances = [1, 2, 101, 102, 201, 202].map((offset) => port + offset);
    const free = await Promise.all(instances.map((p) => portIsFree(p)));
    if (free.every(Boolean)) return port;
  }
}

/**
 * The example as a real formation, in its own run directory (its own .drove/ control socket and
 * SQLite files), started by `drove start` with the example's Procfile commands.
 */
export async function startFormation(
  name: string,
  env: Record<string, string>,
): Promise<Formation> {
  const dir = join(ARTIFACTS, 'runs', `${name}-${randomBytes(3).toString('hex')}`);
  mkdirSync(join(dir, 'scratch'), { recursive: true });
  const build = join(EXAMPLE, 'build');
  writeFileSync(
    join(dir, 'Procfile'),
    `release: node ${build}/release.js\nweb: node ${build}/web.js\nworker: node ${build}/worker.js\n`,
  );
  const port = await basePort();
  const fullEnv = {
    NODE_ENV: 'test',
    DATABASE_URL: `sqlite:${dir}/digest.db`,
    SESSION_STORE_URL: `sqlite:${dir}/sessions.db`,
    DROVE_SCRATCH_DIR: join(dir, 'scratch'),
    DIGEST_LEASE_MS: '3000',
    ...env,
  };
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'start', '-m', 'web=2,worker=1', '-p', String(port)],
    {
      cwd: dir,
      env: { ...process.env, ...fullEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const ctl = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args], { cwd: dir })).stdout;
  const formation: Formation = {
    url,
    dir,
    env: fullEnv,
    output: () => output,
    async ps() {
      return JSON.parse(await ctl('ps', '--json')) as InstanceStatus[];
    },
    async restart(target) {
      await ctl('restart', target);
    },
    async crash(instance) {
      const row = (await formation.ps()).find((r) => r.name === instance);
      if (!row?.pgid) throw new Error(`${instance} is not running:\n${output}`);
      process.kill(-row.pgid, 'SIGKILL');
      return row;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  let lastPs: unknown = 'no answer yet';
  try {
    await waitFor(
      'the formation to serve both web instances',
      async () => {
        const rows = await formation.ps().catch((err: unknown) => {
          lastPs = err;
          return [];
        });
        if (rows.length > 0) lastPs = rows;
        const up = rows.filter((r) => r.state === 'up').map((r) => r.name);
        return up.includes('web.1') && up.includes('web.2') && up.includes('worker.1');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    // What the formation said and what ps last answered, as of the failure (not of the start).
    await formation.stop();
    const ps = lastPs instanceof Error ? lastPs.message : JSON.stringify(lastPs);
    throw new Error(`${(err as Error).message}\nlast ps: ${ps}\noutput:\n${output}`);
  }
  return formation;
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = requireBinary('chromium', 'chromium');
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
