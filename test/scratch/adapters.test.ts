/**
 * Each adapter on a real server on a loopback port: one transaction per request, reachable
 * through useScratch() (also after body parsing), removed when the response finishes, aborted and
 * removed when the client goes away.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expressScratch } from '../../src/scratch/express.js';
import { fastifyScratch } from '../../src/scratch/fastify.js';
import { honoScratch } from '../../src/scratch/hono.js';
import { tryUseScratch, useScratch } from '../../src/scratch/index.js';
import { nodeScratch } from '../../src/scratch/node.js';

interface Running {
  base: string;
  close(): Promise<void>;
}

/** What the routes saw, shared by all adapters. */
const hung: Array<{ dir: string; reason?: string }> = [];

async function writeRoute(): Promise<{ dir: string; exists: boolean; id: string }> {
  const scratch = useScratch();
  const path = await scratch.write('hello.txt', 'hi');
  await new Promise((r) => setTimeout(r, 5)); // still the same transaction after a timer
  return { dir: scratch.dir, exists: existsSync(path), id: useScratch().id };
}

function hangRoute(): void {
  const scratch = useScratch();
  const entry: { dir: string; reason?: string } = { dir: scratch.dir };
  hung.push(entry);
  scratch.signal.addEventListener('abort', () => {
    entry.reason = (scratch.signal.reason as Error).message;
  });
}

function jsonRoute(body: unknown): { n: unknown; id: string | undefined } {
  return { n: (body as { n: unknown }).n, id: tryUseScratch()?.id };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
}

const adapters: Record<string, (dir: string) => Promise<Running>> = {
  async node(dir) {
    const server = createServer(
      nodeScratch(
        async (req, res) => {
          if (req.url === '/hang') return hangRoute();
          if (req.url === '/json') {
            let text = '';
            // Callback-style body reading: the 'end' listener must still be in the transaction.
            req.on('data', (c: Buffer) => {
              text += c;
            });
            req.on('end', () => res.end(JSON.stringify(jsonRoute(JSON.parse(text)))));
            return;
          }
          res.end(JSON.stringify(await writeRoute()));
        },
        { dir },
      ),
    );
    return { base: await listen(server), close: closer(server) };
  },
  async express(dir) {
    const app = express();
    app.use(expressScratch({ dir }));
    app.use(express.json());
    app.get('/write', async (_req, res) => {
      res.json(await writeRoute());
    });
    app.post('/json', (req, res) => {
      res.json(jsonRoute(req.body));
    });
    app.get('/hang', () => hangRoute());
    const server = createServer(app);
    return { base: await listen(server), close: closer(server) };
  },
  async fastify(dir) {
    const app = Fastify();
    await app.register(fastifyScratch({ dir }));
    app.get('/write', () => writeRoute());
    app.post('/json', (req) => jsonRoute(req.body));
    app.get('/hang', (_req, reply) => {
      hangRoute();
      return reply; // never sent
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return {
      base: `http://127.0.0.1:${port}`,
      close: async () => {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
  async hono(dir) {
    const app = new Hono();
    app.use(honoScratch({ dir }));
    app.get('/write', async (c) => c.json(await writeRoute()));
    app.post('/json', async (c) => c.json(jsonRoute(await c.req.json())));
    app.get('/hang', () => {
      hangRoute();
      return new Promise<Response>(() => {});
    });
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(s as Server),
      );
    });
    const { port } = server.address() as AddressInfo;
    return { base: `http://127.0.0.1:${port}`, close: closer(server) };
  },
};

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(Object.keys(adapters))('%s adapter', (name) => {
  let root: string;
  let running: Running;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `drove-adapter-${name}-`));
    running = await adapters[name]!(root);
  });
  afterAll(async () => {
    await running.close();
    await rm(root, { recursive: true, force: true });
  });

  it('gives each request its own scratch space and removes it once the response is sent', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const res = await fetch(`${running.base}/write`);
        expect(res.status).toBe(200);
        return (await res.json()) as { dir: string; exists: boolean; id: string };
      }),
    );
    for (const a of answers) {
      expect(a.exists).toBe(true);
      expect(a.dir.startsWith(root)).toBe(true);
      expect(a.dir.endsWith(a.id)).toBe(true);
    }
    expect(new Set(answers.map((a) => a.dir)).size).toBe(5);
    await waitFor(async () => (await readdir(root)).length === 0, 'the directories to go');
  });

  it('keeps the transaction reachable after a body that arrives late was parsed', async () => {
    // The body comes in a later packet than the headers, so it is read from the socket's own
    // async context; the adapter must step back into the transaction.
    const answer = await new Promise<{ n: number; id?: string }>((resolve, reject) => {
      const req = request(`${running.base}/json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '7' },
      });
      req.on('error', reject);
      req.on('response', async (res) => {
        let text = '';
        for await (const chunk of res) text += chunk;
        resolve(JSON.parse(text));
      });
      req.flushHeaders();
      setTimeout(() => req.end('{"n":7}'), 100);
    });
    expect(answer.n).toBe(7);
    expect(answer.id).toMatch(/^[0-9a-f]{8}-\d+-/);
  });

  it('aborts and removes the scratch space when the client goes away', async () => {
    const before = hung.length;
    const req = request(`${running.base}/hang`);
    req.on('error', () => {});
    req.end();
    await waitFor(() => hung.length > before, 'the request to reach the route');
    const entry = hung.at(-1)!;
    expect(existsSync(entry.dir)).toBe(true);
    req.destroy();
    await waitFor(() => entry.reason !== undefined, 'the abort');
    expect(entry.reason).toContain('connection closed');
    await waitFor(() => !existsSync(entry.dir), 'the directory to go');
  });
});

describe('hono adapter without a Node server (app.request)', () => {
  it('keeps the scratch space until a streamed body has been read', async () => {
    const root = await mkdtemp(join(tmpdir(), 'drove-adapter-hono-fetch-'));
    const app = new Hono();
    app.use(honoScratch({ dir: root }));
    let dir = '';
    app.get('/stream', () => {
      const scratch = useScratch();
      dir = scratch.dir;
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent++ === 3) return controller.close();
          controller.enqueue(new TextEncoder().encode(`${existsSync(dir)};`));
        },
      });
      return new Response(stream);
    });
    const res = await app.request('http://localhost/stream');
    expect(existsSync(dir)).toBe(true);
    expect(await res.text()).toBe('true;true;true;');
    await waitFor(() => !existsSync(dir), 'the directory to go');
    await rm(root, { recursive: true, force: true });
  });
});
