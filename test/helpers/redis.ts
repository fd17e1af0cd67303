/**
 * Private, throwaway Redis servers for tests and benchmarks: a standalone redis-server or a real
 * 3-master Redis Cluster, on free loopback ports, in a temporary directory, with no persistence.
 * Never the machine's shared server on 6379.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireBinary, waitFor } from './ports.js';

const run = promisify(execFile);

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisServer extends RedisNode {
  url: string;
  /** Kill the server (SIGKILL, like a crash); `start()` brings it back, empty, on the same port. */
  kill(): Promise<void>;
  /** Hang the server (SIGSTOP): connections stay open, nothing is read or answered. */
  pause(): void;
  /** Let a paused server go on (SIGCONT): it reads and runs what it was sent meanwhile. */
  resume(): void;
  start(): Promise<void>;
  /** Kill it for good and remove its directory. */
  stop(): Promise<void>;
}

export interface RedisClusterServers {
  nodes: RedisNode[];
  /** `redis+cluster://h1:p1,h2:p2,h3:p3` */
  url: string;
  stop(): Promise<void>;
}

function binaries(): { server: string; cli: string } {
  return {
    server: requireBinary('redis-server', 'redis-server'),
    cli: requireBinary('redis-cli', 'redis-tools'),
  };
}

async function cli(bin: string, port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run(bin, ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 5000,
  });
  return stdout;
}

/** Spawn one redis-server and wait until it answers PING. */
async function spawnServer(
  bins: { server: string; cli: string },
  dir: string,
  port: number,
  extra: string[] = [],
): Promise<ChildProcess> {
  const child = spawn(
    bins.server,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--logfile',
      join(dir, `redis-${port}.log`),
      ...extra,
    ],
    { stdio: 'ignore' },
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(`redis-server on port ${port}`, async () => {
    if (exited) throw new Error(`redis-server on port ${port} exited; see ${dir}`);
    return (await cli(bins.cli, port, 'ping')).trim() === 'PONG';
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** A private standalone redis-server on a free loopback port. */
export async function startRedis(): Promise<RedisServer> {
  const bins = binaries();
  const dir = mkdtempSync(join(tmpdir(), 'drove-redis-'));
  const port = await freePort();
  let child = await spawnServer(bins, dir, port);
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      await stopChild(child);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async start() {
      await stopChild(child);
      child = await spawnServer(bins, dir, port);
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A real 3-master Redis Cluster (no replicas) on free loopback ports, created with
 * `redis-cli --cluster create`, ready when every node reports cluster_state:ok.
 */
export async function startRedisCluster(): Promise<RedisClusterServers> {
  const bins = binaries();
  const dir = mkdtempSync(join(tmpdir(), 'drove-redis-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      // The cluster bus port defaults to port + 10000, which may be taken or out of range.
      const busPort = await freePort();
      children.push(
        await spawnServer(bins, dir, port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '2000',
        ]),
      );
    }
    await run(
      bins.cli,
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await waitFor(
        `cluster_state:ok on port ${port}`,
        async () => (await cli(bins.cli, port, 'cluster', 'info')).includes('cluster_state:ok'),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return {
    nodes,
    url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    stop,
  };
}
