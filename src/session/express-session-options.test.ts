import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../stores/index.js';
import { fromExpressSession } from './express-session-options.js';
import { createNodeMiddleware } from './node-hold.js';

const dir = mkdtempSync(join(tmpdir(), 'drove-compat-options-'));
const store = createStore(`sqlite:${join(dir, 's.db')}`);
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("express-session's options", () => {
  it('maps name, cookie.maxAge, cookie attributes and proxy onto drove options', () => {
    const { options, ignored } = fromExpressSession({
      store,
      name: 'app.sid',
      proxy: true,
      cookie: { maxAge: 60_000, sameSite: true, httpOnly: false, secure: 'auto', path: '/' },
    });
    expect(ignored).toEqual([]);
    expect(options.store).toBe(store);
    expect(options.trustProxy).toBe(true);
    expect(options.idleTimeoutMs).toBe(60_000);
    expect(options.cookie).toEqual({
      name: 'app.sid',
      sameSite: 'strict',
      httpOnly: false,
      secure: 'auto',
      path: '/',
    });
    const session = fromExpressSession({ store, cookie: { maxAge: null, sameSite: 'Lax' } });
    expect(session.options.cookie).toEqual({ persistent: false, sameSite: 'lax' });
  });

  it('lists each ignored option with the reason, and leaves drove options alone', () => {
    const { options, ignored } = fromExpressSession({
      store,
      secret: ['new', 'old'],
      resave: false,
      saveUninitialized: true,
      rolling: true,
      genid: () => 'x',
      unset: 'destroy',
      cookie: { expires: new Date(0), sameSite: false, partitioned: true },
      idleTimeoutMs: 1234,
    });
    expect(ignored.map((line) => line.split(':')[0])).toEqual([
      'secret',
      'resave',
      'saveUninitialized',
      'rolling',
      'genid',
      'unset',
      'cookie.expires',
      'cookie.partitioned',
      'cookie.sameSite',
    ]);
    for (const line of ignored) expect(line.split(': ')[1]!.length).toBeGreaterThan(20);
    expect(options.idleTimeoutMs).toBe(1234);
    expect(options.cookie).toEqual({});
  });

  it('an express-session store is ignored for SESSION_STORE_URL, said so; none is refused', async () => {
    const legacy = { get() {}, set() {}, destroy() {}, on() {} };
    const saved = process.env.SESSION_STORE_URL;
    process.env.SESSION_STORE_URL = `sqlite:${join(dir, 'fallback.db')}`;
    try {
      const { options, ignored } = fromExpressSession({ store: legacy, secret: 's' });
      expect(ignored[1]).toMatch(/^store: an express-session store cannot make conditional writes/);
      expect(ignored[1]).toContain(process.env.SESSION_STORE_URL);
      expect(typeof options.store.create).toBe('function');
      await options.store.close();
    } finally {
      if (saved === undefined) delete process.env.SESSION_STORE_URL;
      else process.env.SESSION_STORE_URL = saved;
    }
  });

  it('drove options without a store are still refused, naming the option', () => {
    expect(() => createNodeMiddleware({}, { unansweredErrors: 'next' })).toThrow(
      expect.objectContaining({ code: 'DROVE_ERR_INVALID_OPTION' }),
    );
  });

  it('the middleware warns once at start-up, listing every ignored option', () => {
    const warnings: Error[] = [];
    const listener = (w: Error) => warnings.push(w);
    process.on('warning', listener);
    return new Promise<void>((resolve) => {
      createNodeMiddleware(
        { store, secret: 's', resave: false, saveUninitialized: false, rolling: true },
        { unansweredErrors: 'next' },
      );
      createNodeMiddleware({ store, name: 'only.mapped' }, { unansweredErrors: 'next' });
      // Warnings are emitted on the next tick.
      setImmediate(() => {
        process.off('warning', listener);
        expect(warnings).toHaveLength(1);
        expect((warnings[0] as Error & { code?: string }).code).toBe('DROVE_SESSION_OPTIONS');
        for (const name of ['secret', 'resave', 'saveUninitialized', 'rolling']) {
          expect(warnings[0]!.message).toContain(`- ${name}: `);
        }
        resolve();
      });
    });
  });
});
