/**
 * Issue 12: a write whose caller was told it failed never lands afterwards. A store is hung past
 * the deadline while writes run (a private Redis under SIGSTOP; PostgreSQL behind a relay that
 * holds its bytes), then resumes; every call that was answered with an error has left its entry
 * as it was. A write that landed but whose reply came late is read back and answered as applied.
 * Memcached cannot fence: the window it leaves is measured.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DroveError } from '../../src/errors.js';
import { createMemcachedStore } from '../../src/stores/memcached.js';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { createRedisStore } from '../../src/stores/redis.js';
import type { Store, WriteResult } from '../../src/stores/types.js';
import { startMemcached } from '../helpers/memcached.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, POSTGRES_SERVER, type TestDatabase } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';
import { startRelay } from '../helpers/relay.js';

const WRITES = 12;
const TIMEOUT_MS = 300;
const OUTAGE_CODES = ['DROVE_ERR_STORE_UNAVAILABLE', 'DROVE_ERR_STORE_OUTCOME_UNKNOWN'];

type Settled = { key: string; result: WriteResult } | { key: string; error: DroveError };

/** ready() under the short test timeout: the first call also loads the client library. */
const ready = (store: Store) =>
  waitFor('the store to connect', () => store.ready().then(() => true));

/**
 * Seed `count` entries with `value`; their keys and versions. Before any hang, but on a loaded
 * machine a call can still miss the short test deadline: retried until the entry reads back.
 */
async function seed(store: Store, tag: string, count = WRITES, value = 'before') {
  const entries: { key: string; version: string }[] = [];
  for (let i = 0; i < count; i++) {
    const key = `${tag}-${i}`;
    const version = await waitFor(`${key} to be seeded`, async () => {
      const created = await store.create(key, value, { ttlMs: 60_000 }).catch(() => undefined);
      if (created?.ok) return created.version;
      const entry = await store.get(key);
      return entry?.value.toString() === value ? entry.version : undefined;
    });
    entries.push({ key, version });
  }
  return entries;
}

/** Update every seeded entry to "after" at once; each call's answer. */
function updateAll(store: Store, entries: { key: string; version: string }[]) {
  return Promise.all(
    entries.map(
      ({ key, version }): Promise<Settled> =>
        store.update(key, 'after', { version, ttlMs: 60_000 }).then(
          (result) => ({ key, result }),
          (error: DroveError) => ({ key, error }),
        ),
    ),
  );
}

/** The truth after the store resumed: each call answered with an error left "before". */
async function expectNoErrorLanded(answers: Settled[], stored: (key: string) => Promise<string>) {
  const failed = answers.filter((a) => 'error' in a);
  // The hang outlasted the deadline, so calls did fail: the test exercises the fence.
  expect(failed.length).toBeGreaterThan(0);
  for (const answer of answers) {
    const value = await stored(answer.key);
    if ('error' in answer) {
      expect(OUTAGE_CODES).toContain(answer.error.code);
      expect({ key: answer.key, code: answer.error.code, value }).toEqual({
        key: answer.key,
        code: answer.error.code,
        value: 'before',
      });
    } else if (answer.result.ok) {
      expect(value).toBe('after');
    }
  }
}

/**
 * Clients each incrementing their own counter in a loop while the store hangs (`hang`) until
 * every client has seen its write fail, then resumes (`resume`). After each failure a client
 * reads its counter again once the store answers: a write answered STORE_UNAVAILABLE must not
 * have landed, an OUTCOME_UNKNOWN one may have (and is then counted). Each client ends after
 * three more increments. Returns the answers seen, by code.
 */
async function incrementsThroughAHang(
  store: Store,
  tag: string,
  hang: () => void,
  resume: () => void,
): Promise<Record<string, number>> {
  const clients = 6;
  const seen: Record<string, number> = {};
  const failedOnce = new Set<number>();
  let resumed = false;
  let hung = false;
  const bump = (code: string) => {
    seen[code] = (seen[code] ?? 0) + 1;
  };
  const readAgain = async (key: string) =>
    waitFor(`${key} to read again`, async () => {
      const entry = await store.get(key);
      return entry && { value: Number(entry.value.toString()), version: entry.version };
    });
  const seeded = await seed(store, tag, clients, '0');
  const client = async (index: number) => {
    const key = seeded[index]!.key;
    let current = { value: 0, version: seeded[index]!.version };
    let afterResume = 0;
    while (afterResume < 3) {
      const next = current.value + 1;
      try {
        const written = await store.update(key, String(next), {
          version: current.version,
          ttlMs: 60_000,
        });
        if (!written.ok) throw new Error(`${key}: ${written.reason} with no other writer`);
        bump('ok');
        current = { value: next, version: written.version };
        if (resumed) afterResume++;
        else if (!hung && index === 0) {
          hung = true;
          hang();
        }
      } catch (err) {
        const code = (err as DroveError).code;
        if (!OUTAGE_CODES.includes(code)) throw err;
        bump(code);
        failedOnce.add(index);
        if (failedOnce.size === clients && !resumed) {
          resumed = true;
          resume();
        }
        const after = await readAgain(key);
        if (code === 'DROVE_ERR_STORE_UNAVAILABLE') {
          expect({ key, code, value: after.value }).toEqual({ key, code, value: current.value });
        } else {
          expect([current.value, next]).toContain(after.value);
          if (after.value === next) bump('unknown, landed');
        }
        current = after;
      }
    }
    // The counter is exactly the increments that were answered as applied, plus the landed
    // unknown ones: nothing an error answered came back later.
    const final = await readAgain(key);
    expect(final.value).toBe(current.value);
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  return seen;
}

describe('redis: a server hung with SIGSTOP while updates run', () => {
  let server: Awaited<ReturnType<typeof startRedis>>;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    server?.resume();
    await server?.stop();
  });

  it('no update answered with an error lands when the server resumes', async () => {
    const store = createRedisStore({ url: server.url, timeoutMs: TIMEOUT_MS, prefix: 'stop:' });
    const check = createRedisStore({ url: server.url, prefix: 'stop:' });
    try {
      await ready(store);
      const entries = await seed(store, 'sigstop');
      server.pause();
      let answers: Settled[];
      try {
        answers = await updateAll(store, entries);
      } finally {
        server.resume();
      }
      await check.ready();
      await expectNoErrorLanded(answers, async (key) => String((await check.get(key))?.value));
      // The store heals: the same entries take writes again.
      await waitFor('the store to write again', async () => {
        const fresh = await store.get(entries[0]!.key).catch(() => undefined);
        if (!fresh) return false;
        return (await store.update(entries[0]!.key, 'healed', { ...fresh, ttlMs: 60_000 })).ok;
      });
    } finally {
      await store.close();
      await check.close();
    }
  });

  it('clients incrementing in a loop through the hang: no failed increment is applied later', async () => {
    const store = createRedisStore({ url: server.url, timeoutMs: TIMEOUT_MS, prefix: 'loop:' });
    try {
      await ready(store);
      const seen = await incrementsThroughAHang(
        store,
        'loop',
        () => server.pause(),
        () => server.resume(),
      );
      console.info(`redis increments through a SIGSTOP: ${JSON.stringify(seen)}`);
    } finally {
      server.resume();
      await store.close();
    }
  });

  it('an update that ran but whose reply came after the deadline is answered as applied', async () => {
    const relay = await startRelay(server);
    const store = createRedisStore({
      url: `redis://${relay.host}:${relay.port}`,
      timeoutMs: TIMEOUT_MS,
      prefix: 'late:',
    });
    try {
      await ready(store);
      const [entry] = await seed(store, 'late', 1);
      // Load the update script first: a NOSCRIPT answer held by the relay would keep it unsent.
      const warm = await store.update(entry!.key, 'before', { ...entry!, ttlMs: 60_000 });
      if (!warm.ok) throw new Error('warm-up update refused');
      relay.freeze('replies');
      const chunks = relay.requestChunks;
      const answer = store.update(entry!.key, 'after', { version: warm.version, ttlMs: 60_000 });
      // The update went out, then (after its deadline) the read-back: let the replies through.
      await waitFor(
        'the read-back after the deadline',
        async () => relay.requestChunks >= chunks + 2,
      );
      relay.thaw();
      const result = await answer;
      expect(result.ok).toBe(true);
      expect((await store.get(entry!.key))?.value.toString()).toBe('after');
      if (result.ok) expect((await store.get(entry!.key))?.version).toBe(result.version);
    } finally {
      relay.thaw();
      await store.close();
      await relay.close();
    }
  });
});

describe('postgres: a server whose bytes are held (hung) while updates run', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const valueIn = (url: string) => async (key: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT convert_from(value, $2) AS value FROM drove_store WHERE key = $1',
        [`drove:${key}`, 'UTF8'],
      );
      return String(rows[0]?.value);
    } finally {
      await client.end();
    }
  };

  it('no update answered with an error lands when the held statements reach the server', async () => {
    const relay = await startRelay(POSTGRES_SERVER);
    const store = createPostgresStore({
      connectionString: db.urlVia(relay),
      timeoutMs: TIMEOUT_MS,
      poolSize: 4,
      sweepIntervalMs: 0,
    });
    try {
      await ready(store);
      const entries = await seed(store, 'held');
      relay.freeze('both');
      let answers: Settled[];
      try {
        answers = await updateAll(store, entries);
      } finally {
        relay.thaw();
      }
      // Every connection that held statements delivers them, then ends.
      await store.close();
      await waitFor('the held connections to drain', async () => relay.open === 0);
      await expectNoErrorLanded(answers, valueIn(db.url));
    } finally {
      await store.close();
      await relay.close();
    }
  });

  it('clients incrementing in a loop through the hang: no failed increment is applied later', async () => {
    const relay = await startRelay(POSTGRES_SERVER);
    const store = createPostgresStore({
      connectionString: db.urlVia(relay),
      timeoutMs: TIMEOUT_MS,
      poolSize: 4,
      sweepIntervalMs: 0,
    });
    try {
      await ready(store);
      const seen = await incrementsThroughAHang(
        store,
        'loop',
        () => relay.freeze('both'),
        () => relay.thaw(),
      );
      console.info(`postgres increments through a hang: ${JSON.stringify(seen)}`);
    } finally {
      relay.thaw();
      await store.close();
      await relay.close();
    }
  });

  it('an update that ran but whose reply came after the deadline is answered as applied', async () => {
    const relay = await startRelay(POSTGRES_SERVER);
    const store = createPostgresStore({
      connectionString: db.urlVia(relay),
      timeoutMs: TIMEOUT_MS,
      poolSize: 1,
      sweepIntervalMs: 0,
    });
    try {
      await ready(store);
      const [entry] = await seed(store, 'late', 1);
      relay.freeze('replies');
      const accepted = relay.accepted;
      const answer = store.update(entry!.key, 'after', { ...entry!, ttlMs: 60_000 });
      // The update's connection is given up at the deadline; the read-back opens another.
      await waitFor('the read-back connection', async () => relay.accepted > accepted);
      relay.thaw();
      const result = await answer;
      expect(result.ok).toBe(true);
      expect(await valueIn(db.url)(entry!.key)).toBe('after');
    } finally {
      relay.thaw();
      await store.close();
      await relay.close();
    }
  });
});

describe('memcached: no fence, so the window is measured', () => {
  it('only writes answered DROVE_ERR_STORE_OUTCOME_UNKNOWN land after a hang', async () => {
    const server = await startMemcached();
    const store = createMemcachedStore({
      servers: [{ host: server.host, port: server.port }],
      timeoutMs: TIMEOUT_MS,
    });
    const check = createMemcachedStore({ servers: [{ host: server.host, port: server.port }] });
    try {
      await ready(store);
      // Whether a write is still in flight when the server stops depends on the scheduler: the
      // measurement is taken again (at most 3 times) until some writes were, or it says nothing.
      let unknown = 0;
      for (let attempt = 0; attempt < 3 && unknown === 0; attempt++) {
        const entries = await seed(store, `mc${attempt}`);
        server.pause();
        let answers: Settled[];
        try {
          answers = await updateAll(store, entries);
        } finally {
          server.resume();
        }
        await check.ready();
        const landedAfterError: string[] = [];
        for (const answer of answers) {
          const value = (await check.get(answer.key))?.value.toString();
          if (!('error' in answer)) continue;
          expect(OUTAGE_CODES).toContain(answer.error.code);
          if (value === 'after') {
            landedAfterError.push(answer.key);
            // The truthful answer for a write that may still land.
            expect(answer.error.code).toBe('DROVE_ERR_STORE_OUTCOME_UNKNOWN');
          }
        }
        unknown = answers.filter(
          (a) => 'error' in a && a.error.code === 'DROVE_ERR_STORE_OUTCOME_UNKNOWN',
        ).length;
        const unavailable = answers.filter(
          (a) => 'error' in a && a.error.code === 'DROVE_ERR_STORE_UNAVAILABLE',
        ).length;
        // The measurement docs/stores-memcached.md reports: of the writes in flight when the
        // server hung, how many landed when it resumed.
        console.info(
          `memcached window: ${landedAfterError.length} of ${unknown} writes answered OUTCOME_UNKNOWN landed after the hang; ${unavailable} answered UNAVAILABLE (never sent)`,
        );
        expect(landedAfterError.length).toBeLessThanOrEqual(unknown);
      }
      // The hang outlasted the deadline, so writes did fail; without a fence, they landed.
      expect(unknown).toBeGreaterThan(0);
    } finally {
      server.resume();
      await store.close();
      await check.close();
      await server.stop();
    }
  });
});
