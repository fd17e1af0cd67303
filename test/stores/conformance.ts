/**
 * The store conformance suite: the semantics every drove store must have, run against each real
 * backend (test/stores/<backend>.test.ts). Tests are named after the method they check.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DroveError } from '../../src/errors.js';
import type { Store, StoreOptions } from '../../src/stores/types.js';
import type { Relay } from '../helpers/relay.js';
import { startRelay } from '../helpers/relay.js';

export interface ConformanceTarget {
  /** Backend name, as in `store.name`. */
  name: string;
  /** A new store on the real backend. Each call gets its own key prefix, so tests never collide. */
  create(options?: StoreOptions): Store;
  /**
   * A store that reaches its server through `relay` (outage tests). Backends without a network
   * (SQLite) give `outage` instead.
   */
  createVia?(relay: { host: string; port: number }, options?: StoreOptions): Store;
  /** The server address `createVia`'s relay forwards to. */
  server?: { host: string; port: number };
  /** For backends without a network: make the store unavailable, and return a function that heals it. */
  outage?(store: Store): Promise<() => Promise<void>>;
  /**
   * Extra slack on expiry checks, in ms: Memcached counts whole seconds on its own clock, so an
   * entry may live up to a second past the expiry it reported.
   */
  expirySlackMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Options every store in the suite gets: a private prefix. */
function isolated(options: StoreOptions = {}): StoreOptions {
  return { prefix: `t${randomUUID().slice(0, 8)}:`, ...options };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<DroveError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a rejection with ${code}`).toBeInstanceOf(DroveError);
  expect((err as DroveError).code).toBe(code);
  return err as DroveError;
}

/** Read-modify-write with retries: the loop every optimistic client runs. */
async function increment(store: Store, key: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const entry = await store.get(key);
    if (!entry) throw new Error('entry vanished');
    const next = Number(entry.value.toString()) + 1;
    const result = await store.update(key, String(next), { version: entry.version, ttlMs: 60_000 });
    if (result.ok) return attempt;
    expect(result.reason).toBe('conflict');
    await sleep(Math.random() * 5);
  }
}

export function testStore(target: ConformanceTarget): void {
  const slack = target.expirySlackMs ?? 0;

  describe(`${target.name} store conformance`, () => {
    let store: Store;
    const k = () => `key-${randomUUID()}`;

    beforeAll(async () => {
      store = target.create(isolated({ tombstoneTtlMs: 1500 }));
      await store.ready();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('ready() connects and reports the driver name', () => {
      expect(store.name).toBe(target.name);
    });

    describe('get()', () => {
      it('get() returns undefined for an absent key', async () => {
        expect(await store.get(k())).toBeUndefined();
      });

      it('get() returns bytes, version, expiry and owner of what create() wrote', async () => {
        const key = k();
        const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 32]);
        const before = Date.now();
        const created = await store.create(key, bytes, { ttlMs: 30_000 });
        expect(created.ok).toBe(true);
        const entry = await store.get(key);
        expect(entry).toBeDefined();
        expect(entry!.value.equals(bytes)).toBe(true);
        expect(entry!.version).toBe(created.ok ? created.version : undefined);
        expect(entry!.owner).toBeUndefined();
        expect(entry!.expiresAt).toBeGreaterThan(before + 30_000 - 2000 - slack);
        expect(entry!.expiresAt).toBeLessThan(Date.now() + 30_000 + 2000 + slack);
      });

      it('get() returns a string value as its UTF-8 bytes', async () => {
        const key = k();
        await store.create(key, 'héllo ✓', { ttlMs: 30_000 });
        expect((await store.get(key))!.value.toString('utf8')).toBe('héllo ✓');
      });
    });

    describe('create() and update()', () => {
      it('create() refuses a key that has a live entry with "exists"', async () => {
        const key = k();
        expect((await store.create(key, 'a', { ttlMs: 30_000 })).ok).toBe(true);
        expect(await store.create(key, 'b', { ttlMs: 30_000 })).toEqual({
          ok: false,
          reason: 'exists',
        });
        expect((await store.get(key))!.value.toString()).toBe('a');
      });

      it('update() writes when the version matches and gives a new version', async () => {
        const key = k();
        const created = await store.create(key, 'v1', { ttlMs: 30_000 });
        if (!created.ok) throw new Error('create failed');
        const updated = await store.update(key, 'v2', { version: created.version, ttlMs: 30_000 });
        expect(updated.ok).toBe(true);
        if (!updated.ok) return;
        expect(updated.version).not.toBe(created.version);
        const entry = await store.get(key);
        expect(entry!.value.toString()).toBe('v2');
        expect(entry!.version).toBe(updated.version);
      });

      it('update() refuses a stale version with "conflict" and leaves the value', async () => {
        const key = k();
        const created = await store.create(key, 'v1', { ttlMs: 30_000 });
        if (!created.ok) throw new Error('create failed');
        await store.update(key, 'v2', { version: created.version, ttlMs: 30_000 });
        const stale = await store.update(key, 'v3', { version: created.version, ttlMs: 30_000 });
        expect(stale).toEqual({ ok: false, reason: 'conflict' });
        expect((await store.get(key))!.value.toString()).toBe('v2');
      });

      it('update() of an absent key is "missing"', async () => {
        const key = k();
        const created = await store.create(k(), 'x', { ttlMs: 30_000 });
        if (!created.ok) throw new Error('create failed');
        expect(await store.update(key, 'x', { version: created.version, ttlMs: 30_000 })).toEqual({
          ok: false,
          reason: 'missing',
        });
        expect(await store.get(key)).toBeUndefined();
      });

      it('create() of one key by 20 parallel writers: exactly one wins', async () => {
        const key = k();
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.create(key, `w${i}`, { ttlMs: 30_000 })),
        );
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'exists')).toBe(
          true,
        );
      });

      it('update() of one version by 20 parallel writers: exactly one wins', async () => {
        const key = k();
        const created = await store.create(key, '0', { ttlMs: 30_000 });
        if (!created.ok) throw new Error('create failed');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.update(key, `w${i}`, { version: created.version, ttlMs: 30_000 }),
          ),
        );
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'conflict')).toBe(
          true,
        );
        const winner = winners[0]!;
        expect((await store.get(key))!.version).toBe(winner.ok ? winner.version : '');
      });

      it('update() with retries: 10 writers × 5 increments lose nothing', async () => {
        const key = k();
        await store.create(key, '0', { ttlMs: 60_000 });
        let conflicts = 0;
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            for (let i = 0; i < 5; i++) conflicts += await increment(store, key);
          }),
        );
        expect(Number((await store.get(key))!.value.toString())).toBe(50);
        // Parallel writers on one key must have collided at least once, or the test proved nothing.
        expect(conflicts).toBeGreaterThan(0);
      });
    });

    describe('expiry', () => {
      it('get() never returns an expired entry; update() then says "missing"; create() works again', async () => {
        const key = k();
        const created = await store.create(key, 'short', { ttlMs: 1000 });
        if (!created.ok) throw new Error('create failed');
        const entry = await store.get(key);
        expect(entry?.value.toString()).toBe('short');
        const wait = entry!.expiresAt + slack + 150 - Date.now();
        await sleep(Math.max(0, wait));
        expect(await store.get(key)).toBeUndefined();
        expect(await store.update(key, 'x', { version: created.version, ttlMs: 1000 })).toEqual({
          ok: false,
          reason: 'missing',
        });
        expect(await store.touch(key, 30_000)).toBeUndefined();
        expect((await store.create(key, 'again', { ttlMs: 30_000 })).ok).toBe(true);
      });

      it('touch() extends the expiry without changing value or version', async () => {
        const key = k();
        const created = await store.create(key, 'kept', { ttlMs: 1000 });
        if (!created.ok) throw new Error('create failed');
        const expiresAt = await store.touch(key, 30_000);
        expect(expiresAt).toBeGreaterThan(Date.now() + 25_000);
        await sleep(created.expiresAt + slack + 150 - Date.now());
        const entry = await store.get(key);
        expect(entry?.value.toString()).toBe('kept');
        expect(entry?.version).toBe(created.version);
        expect(entry!.expiresAt).toBeGreaterThan(Date.now() + 20_000);
        // The old version still writes: touch did not re-version.
        expect(
          (await store.update(key, 'next', { version: created.version, ttlMs: 30_000 })).ok,
        ).toBe(true);
      });

      it('touch() of an absent key returns undefined and creates nothing', async () => {
        const key = k();
        expect(await store.touch(key, 30_000)).toBeUndefined();
        expect(await store.get(key)).toBeUndefined();
      });

      it('update() moves the expiry to now + ttlMs', async () => {
        const key = k();
        const created = await store.create(key, 'a', { ttlMs: 1000 });
        if (!created.ok) throw new Error('create failed');
        const updated = await store.update(key, 'b', { version: created.version, ttlMs: 30_000 });
        expect(updated.ok && updated.expiresAt > Date.now() + 25_000).toBe(true);
        await sleep(created.expiresAt + slack + 150 - Date.now());
        expect((await store.get(key))?.value.toString()).toBe('b');
      });
    });

    describe('delete()', () => {
      it('delete() removes the entry and says whether it was there', async () => {
        const key = k();
        await store.create(key, 'x', { ttlMs: 30_000 });
        expect(await store.delete(key)).toBe(true);
        expect(await store.get(key)).toBeUndefined();
        expect(await store.delete(key)).toBe(false);
        expect(await store.delete(k())).toBe(false);
      });

      it('delete() leaves a tombstone: a writer holding the old version cannot bring it back', async () => {
        const key = k();
        const created = await store.create(key, 'x', { ttlMs: 30_000 });
        if (!created.ok) throw new Error('create failed');
        await store.delete(key);
        expect(
          await store.update(key, 'zombie', { version: created.version, ttlMs: 30_000 }),
        ).toEqual({
          ok: false,
          reason: 'gone',
        });
        expect(await store.create(key, 'zombie', { ttlMs: 30_000 })).toEqual({
          ok: false,
          reason: 'gone',
        });
        expect(await store.touch(key, 30_000)).toBeUndefined();
        expect(await store.get(key)).toBeUndefined();
      });

      it('delete() tombstones expire after tombstoneTtlMs', async () => {
        const key = k();
        await store.create(key, 'x', { ttlMs: 30_000 });
        await store.delete(key);
        await sleep(1500 + slack + 200);
        expect((await store.create(key, 'new life', { ttlMs: 30_000 })).ok).toBe(true);
      });
    });

    describe('owner index', () => {
      it('ownedBy() lists the live entries of one owner; deleteOwned() deletes all but the excepted', async () => {
        const owner = `user-${randomUUID()}`;
        const other = `user-${randomUUID()}`;
        const [a, b, c, d] = [k(), k(), k(), k()];
        await store.create(a, 'a', { ttlMs: 30_000, owner });
        await store.create(b, 'b', { ttlMs: 30_000, owner });
        const cc = await store.create(c, 'c', { ttlMs: 30_000, owner });
        await store.create(d, 'd', { ttlMs: 30_000, owner: other });
        expect((await store.get(a))!.owner).toBe(owner);
        expect(await store.ownedBy(owner)).toEqual([a, b, c].sort());
        expect(await store.ownedBy(other)).toEqual([d]);
        expect(await store.deleteOwned(owner, { except: [a] })).toBe(2);
        expect(await store.ownedBy(owner)).toEqual([a]);
        expect(await store.get(b)).toBeUndefined();
        expect((await store.get(d))!.value.toString()).toBe('d');
        // Deleted through the index, still tombstoned.
        expect(
          await store.update(c, 'zombie', { version: cc.ok ? cc.version : '', ttlMs: 30_000 }),
        ).toEqual({ ok: false, reason: 'gone' });
        expect(await store.deleteOwned(owner)).toBe(1);
        expect(await store.ownedBy(owner)).toEqual([]);
      });

      it('update() can set the owner later, and keeps it when omitted', async () => {
        const owner = `user-${randomUUID()}`;
        const key = k();
        const created = await store.create(key, 'anon', { ttlMs: 30_000 });
        if (!created.ok) throw new Error('create failed');
        const signedIn = await store.update(key, 'signed in', {
          version: created.version,
          ttlMs: 30_000,
          owner,
        });
        if (!signedIn.ok) throw new Error('update failed');
        expect(await store.ownedBy(owner)).toEqual([key]);
        await store.update(key, 'still', { version: signedIn.version, ttlMs: 30_000 });
        expect((await store.get(key))!.owner).toBe(owner);
        expect(await store.ownedBy(owner)).toEqual([key]);
      });

      it('ownedBy() converges: expired and deleted entries drop out of the index', async () => {
        const owner = `user-${randomUUID()}`;
        const [short, deleted, kept] = [k(), k(), k()];
        const s = await store.create(short, 's', { ttlMs: 1000, owner });
        await store.create(deleted, 'd', { ttlMs: 30_000, owner });
        await store.create(kept, 'k', { ttlMs: 30_000, owner });
        await store.delete(deleted);
        expect(await store.ownedBy(owner)).toEqual([short, kept].sort());
        await sleep((s.ok ? s.expiresAt : Date.now() + 1000) + slack + 150 - Date.now());
        expect(await store.ownedBy(owner)).toEqual([kept]);
      });
    });

    describe('limits and bad input', () => {
      it('create() and update() refuse oversized values with DROVE_ERR_VALUE_TOO_LARGE and write nothing', async () => {
        const small = target.create(isolated({ maxValueSize: 1024 }));
        try {
          await small.ready();
          const key = k();
          await expectCode(
            small.create(key, Buffer.alloc(1025), { ttlMs: 30_000 }),
            'DROVE_ERR_VALUE_TOO_LARGE',
          );
          expect(await small.get(key)).toBeUndefined();
          const created = await small.create(key, Buffer.alloc(1024, 1), { ttlMs: 30_000 });
          if (!created.ok) throw new Error('create failed');
          await expectCode(
            small.update(key, Buffer.alloc(2000), { version: created.version, ttlMs: 30_000 }),
            'DROVE_ERR_VALUE_TOO_LARGE',
          );
          const entry = await small.get(key);
          expect(entry!.value.equals(Buffer.alloc(1024, 1))).toBe(true);
          expect(entry!.version).toBe(created.version);
        } finally {
          await small.close();
        }
      });

      it('every method refuses bad keys with DROVE_ERR_INVALID_KEY', async () => {
        for (const bad of ['', 'has space', 'new\nline', 'x'.repeat(201)]) {
          await expectCode(store.get(bad), 'DROVE_ERR_INVALID_KEY');
          await expectCode(store.create(bad, 'v', { ttlMs: 1000 }), 'DROVE_ERR_INVALID_KEY');
        }
        await expectCode(
          store.create(k(), 'v', { ttlMs: 1000, owner: 'a b' }),
          'DROVE_ERR_INVALID_KEY',
        );
      });

      it('create() refuses a ttlMs that is not a positive integer', async () => {
        await expectCode(store.create(k(), 'v', { ttlMs: 0 }), 'DROVE_ERR_INVALID_OPTION');
        await expectCode(store.create(k(), 'v', { ttlMs: 1.5 }), 'DROVE_ERR_INVALID_OPTION');
      });

      it('close() makes later calls fail with DROVE_ERR_STORE_CLOSED', async () => {
        const closing = target.create(isolated());
        await closing.ready();
        await closing.close();
        await expectCode(closing.get(k()), 'DROVE_ERR_STORE_CLOSED');
      });
    });

    if (target.createVia && target.server) {
      const createVia = target.createVia;
      const server = target.server;
      describe('outages through a relay', () => {
        let relay: Relay;
        let flaky: Store;
        beforeAll(async () => {
          relay = await startRelay(server);
          flaky = createVia(relay, isolated({ timeoutMs: 500 }));
          await flaky.ready();
        });
        afterAll(async () => {
          await flaky?.close();
          await relay?.close();
        });

        const failsFast = async (mode: 'refuse' | 'blackhole') => {
          await relay.mode(mode);
          const started = Date.now();
          const results = await Promise.allSettled(
            Array.from({ length: 50 }, () => flaky.get(k())),
          );
          // Bounded by the 500 ms store timeout: generous margin for a loaded machine, but no hang.
          expect(Date.now() - started).toBeLessThan(5000);
          for (const r of results) {
            expect(r.status).toBe('rejected');
            const reason = (r as PromiseRejectedResult).reason as DroveError;
            expect(reason.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
          }
          await relay.mode('pass');
          const key = k();
          await waitForOk(() => flaky.create(key, 'back', { ttlMs: 30_000 }));
          expect((await flaky.get(key))?.value.toString()).toBe('back');
        };

        it('a refused connection fails fast with DROVE_ERR_STORE_UNAVAILABLE, then recovers', async () => {
          await failsFast('refuse');
        });

        it('a server that never answers fails within the timeout, then recovers', async () => {
          await failsFast('blackhole');
        });

        it('ready() fails at boot with DROVE_ERR_STORE_UNAVAILABLE when nothing listens', async () => {
          await relay.mode('refuse');
          const early = createVia(relay, isolated({ timeoutMs: 500 }));
          try {
            await expectCode(early.ready(), 'DROVE_ERR_STORE_UNAVAILABLE');
          } finally {
            await early.close();
            await relay.mode('pass');
          }
        });
      });
    }

    if (target.outage) {
      const makeOutage = target.outage;
      it('an unavailable backend fails within the timeout with DROVE_ERR_STORE_UNAVAILABLE, then recovers', async () => {
        const victim = target.create(isolated({ timeoutMs: 500 }));
        await victim.ready();
        const key = k();
        await victim.create(key, 'x', { ttlMs: 30_000 });
        const heal = await makeOutage(victim);
        try {
          const started = Date.now();
          const err = await victim.update(key, 'y', { version: '1', ttlMs: 30_000 }).then(
            () => undefined,
            (e: DroveError) => e,
          );
          expect(err?.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
          expect(Date.now() - started).toBeLessThan(5000);
        } finally {
          await heal();
        }
        expect((await victim.get(key))?.value.toString()).toBe('x');
        await victim.close();
      });
    }
  });
}

async function waitForOk(write: () => Promise<{ ok: boolean }>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await write()).ok) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await sleep(100);
  }
}
