/**
 * `drove balance`: the standalone balancer in front of replicas found by name, as Compose's DNS
 * answers them, and of a fixed list, as the systemd export runs it. Real servers on loopback
 * addresses (127.0.0.2, .3, .4 share one port, like replicas behind one service name).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseUpstreams,
  type Resolve,
  startStandaloneBalancer,
} from '../../src/runner/standalone-balancer.js';
import { freePort } from '../helpers/ports.js';
import { here } from './cases.js';

const replicas = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
let port = 0;
const servers: Server[] = [];

/** One answer: which replica served it. */
async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: { connection: 'close' } });
  return { status: res.status, body: await res.text() };
}

async function listen(server: Server, p: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => resolve());
  });
}

beforeAll(async () => {
  // The same port on each address: the replicas of one service.
  for (let attempt = 0; attempt < 5 && servers.length < replicas.length; attempt++) {
    port = await freePort();
    servers.length = 0;
    try {
      for (const host of replicas) {
        const server = createServer((_req, res) => res.end(host));
        await listen(server, port, host);
        servers.push(server);
      }
    } catch {
      for (const s of servers) s.close();
    }
  }
  expect(servers).toHaveLength(replicas.length);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('parseUpstreams', () => {
  it('reads names, addresses and lists; refuses the rest with a typed error', () => {
    expect(parseUpstreams('web:5000')).toEqual([{ host: 'web', port: 5000 }]);
    expect(parseUpstreams('10.0.0.2:5001, [::1]:5002')).toEqual([
      { host: '10.0.0.2', port: 5001 },
      { host: '::1', port: 5002 },
    ]);
    for (const bad of ['web', 'web:0', 'web:70000', ':5000', '', 'a b:1']) {
      expect(() => parseUpstreams(bad), bad).toThrow(
        expect.objectContaining({ code: 'DROVE_ERR_INVALID_OPTION' }),
      );
    }
  });
});

describe('startStandaloneBalancer', () => {
  it('spreads over every address a name resolves to, and follows the answer as it changes', async () => {
    let answer: string[] | Error = ['127.0.0.2', '127.0.0.3'];
    const resolve: Resolve = async (host) => {
      expect(host).toBe('web');
      if (answer instanceof Error) throw answer;
      return answer;
    };
    const lb = await startStandaloneBalancer({
      port: 0,
      upstreams: parseUpstreams(`web:${port}`),
      resolve,
      resolveIntervalMs: 3_600_000, // the test calls sync() itself
      drainMs: 1_000,
    });
    try {
      const url = `http://127.0.0.1:${lb.balancer.address().port}/`;
      const seen = async (n: number) => {
        const bodies = new Set<string>();
        for (let i = 0; i < n; i++) bodies.add((await get(url)).body);
        return [...bodies].sort();
      };
      expect(await seen(6)).toEqual(['127.0.0.2', '127.0.0.3']);

      answer = ['127.0.0.4', '127.0.0.3'];
      await lb.sync();
      expect(await seen(6)).toEqual(['127.0.0.3', '127.0.0.4']);
      const ids = lb.balancer
        .list()
        .filter((i) => i.state !== 'draining')
        .map((i) => i.id);
      expect(ids.sort()).toEqual([`web@127.0.0.3:${port}`, `web@127.0.0.4:${port}`]);

      // A lookup that times out keeps the last answer.
      answer = Object.assign(new Error('timeout'), { code: 'EAI_AGAIN' });
      await lb.sync();
      expect(await seen(4)).toEqual(['127.0.0.3', '127.0.0.4']);

      // No address at all: every replica is gone, and clients are told so.
      answer = Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      await lb.sync();
      expect((await get(url)).status).toBe(503);

      answer = ['127.0.0.2'];
      await lb.sync();
      expect(await seen(3)).toEqual(['127.0.0.2']);
    } finally {
      await lb.close(1_000);
    }
  });

  it('resolves a real name with the system resolver (localhost)', async () => {
    const lb = await startStandaloneBalancer({
      port: 0,
      upstreams: parseUpstreams(`localhost:${port}`),
    });
    // A server on 127.0.0.1 at the replicas' port; ::1, if localhost has it, refuses and is
    // quarantined, so every request still reaches 127.0.0.1.
    const local = createServer((_req, res) => res.end('localhost'));
    await listen(local, port, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${lb.balancer.address().port}/`;
      for (let i = 0; i < 3; i++)
        expect(await get(url)).toEqual({ status: 200, body: 'localhost' });
      expect(lb.balancer.list().map((i) => i.id)).toContain(`localhost@127.0.0.1:${port}`);
    } finally {
      await lb.close(1_000);
      await new Promise((r) => local.close(r));
    }
  });
});

describe('drove balance (the command)', () => {
  it('balances a fixed list, binds --host, and stops on SIGTERM with 143', async () => {
    const listenPort = await freePort();
    const cli = join(here, '../../dist/cli/main.js');
    const upstream = `127.0.0.2:${port},127.0.0.3:${port}`;
    const child = spawn(
      process.execPath,
      [cli, 'balance', '--upstream', upstream, '--port', String(listenPort), '--host', '127.0.0.1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => {
          if (output.includes('balance: listening on')) resolve();
        });
        child.once('exit', () => reject(new Error(`drove balance exited: ${output}`)));
      });
      expect(output).toContain(
        `balance: listening on 127.0.0.1:${listenPort}, upstream ${upstream}`,
      );
      const bodies = new Set<string>();
      for (let i = 0; i < 4; i++) bodies.add((await get(`http://127.0.0.1:${listenPort}/`)).body);
      expect([...bodies].sort()).toEqual(['127.0.0.2', '127.0.0.3']);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(143);
    expect(output).toContain('SIGTERM received');
  });
});
