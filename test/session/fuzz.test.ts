/**
 * Property-based fuzzing of Cookie headers (fast-check) against a real server and SQLite store:
 * never a crash or a 500, and never a session loaded from anything but the exact id issued.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/stores/types.js';
import { type RunningApp, startApp } from './apps.js';
import { type Backend, startBackend } from './backends.js';
import { Browser } from './client.js';

describe('fuzzed Cookie headers', () => {
  let backend: Backend;
  let store: Store;
  let app: RunningApp;
  let id: string;

  beforeAll(async () => {
    backend = await startBackend('sqlite');
    store = backend.create();
    app = await startApp('express', { store });
    const owner = new Browser(app.url);
    await owner.post('/set?key=secret&value=42');
    id = owner.id!;
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await backend?.stop();
  });

  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=%; ';
  /** The issued id with one character replaced, one dropped, one added, or case-flipped. */
  const altered = fc
    .tuple(
      fc.nat(),
      fc.constantFrom(...alphabet),
      fc.constantFrom('replace', 'drop', 'add', 'case'),
    )
    .map(([at, ch, how]) => {
      const i = at % id.length;
      if (how === 'drop') return id.slice(0, i) + id.slice(i + 1);
      if (how === 'add') return id.slice(0, i) + ch + id.slice(i);
      if (how === 'case') {
        const c = id[i]!;
        const flipped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
        return id.slice(0, i) + flipped + id.slice(i + 1);
      }
      return id.slice(0, i) + ch + id.slice(i + 1);
    })
    .filter((candidate) => candidate !== id);
  const headerSafe = (s: string) => s.replace(/[\r\n\0]/g, '').replace(/[^\x20-\x7e]/g, '');
  const cookieHeader = fc.oneof(
    fc.string({ maxLength: 300 }).map(headerSafe),
    fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 120 }).map((v) => `drove.sid=${v}`),
    altered.map((v) => `drove.sid=${v}`),
    altered.map((v) => `a=1; drove.sid=${v}; b=2`),
    fc
      .tuple(fc.string({ maxLength: 40 }), altered)
      .map(([junk, v]) => headerSafe(`${junk}drove.sid=${v}`)),
  );

  it('never answers 500 and never loads a session from a forged or altered id', async () => {
    await fc.assert(
      fc.asyncProperty(cookieHeader, fc.constantFrom('GET', 'POST'), async (cookie, method) => {
        const res = await new Browser(app.url).send(
          method,
          method === 'GET' ? '/read' : '/unset?key=x',
          {
            cookie,
          },
        );
        expect(res.status).toBeLessThan(500);
        if (method === 'GET') expect(res.json().data).toEqual({});
      }),
      { numRuns: 300 },
    );
    // The real id still works, so the property was not vacuous.
    const real = await new Browser(app.url).get('/read', { cookie: `drove.sid=${id}` });
    expect(real.json().data).toEqual({ secret: 42 });
  });
});
