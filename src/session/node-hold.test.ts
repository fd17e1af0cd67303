import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, expect, it } from 'vitest';
import { createSqliteStore } from '../stores/sqlite.js';
import { session } from './express.js';

const store = createSqliteStore({ path: ':memory:' });
afterAll(() => store.close());

it('queued writes go through methods wrapped by middleware that ran before the session', async () => {
  const app = express();
  const calls: string[] = [];
  // A stand-in for compression or on-headers: wraps write/end/writeHead as own properties.
  app.use((_req, res, next) => {
    const { write, end, writeHead } = res;
    res.writeHead = function wrappedWriteHead(this: typeof res, ...args: unknown[]) {
      calls.push('writeHead');
      this.setHeader('x-wrapped', 'yes');
      return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.writeHead;
    res.write = function wrappedWrite(this: typeof res, ...args: unknown[]) {
      calls.push('write');
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof res.write;
    res.end = function wrappedEnd(this: typeof res, ...args: unknown[]) {
      calls.push('end');
      return (end as (...a: unknown[]) => typeof res).apply(this, args);
    } as typeof res.end;
    next();
  });
  app.use(session({ store }));
  app.post('/visit', (req, res) => {
    req.session.visits = 1;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('a');
    res.end('b');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/visit`, { method: 'POST' });
    expect(await res.text()).toBe('ab');
    expect(res.headers.get('x-wrapped')).toBe('yes');
    expect(res.headers.getSetCookie()).toHaveLength(1);
    // Each wrapper ran once, after the save released the held calls (end may call writeHead).
    expect(calls.filter((c) => c === 'write')).toEqual(['write']);
    expect(calls.filter((c) => c === 'end')).toEqual(['end']);
    expect(calls.filter((c) => c === 'writeHead').length).toBeGreaterThanOrEqual(1);
  } finally {
    server.close();
  }
});
